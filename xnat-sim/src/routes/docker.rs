//! The Container Service plugin's Docker endpoints (`/xapi/docker/...`), read side: the images
//! the daemon holds, the configured hubs and the daemon connection, shaped as the plugin's
//! `DockerImage`, `DockerHub` and `DockerServer` beans serialise (kebab-case keys).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::envelope::{json, text, xapi_error};
use crate::params::{Caller, Params};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/xapi/docker/images", get(images))
        .route("/xapi/docker/hubs", get(hubs))
        .route("/xapi/docker/server", get(server).post(set_server))
        .route("/xapi/docker/pull", post(pull))
}

async fn images() -> Response {
    json(
        StatusCode::OK,
        &json!([
            {"image-id": "sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741",
             "tags": ["busybox:latest"], "size": 4261550, "labels": {}},
            {"image-id": "sha256:9c1e8f1c2f4b0d6b6d1e3a1b8a7c2d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c",
             "tags": ["xnat/dcm2niix:latest", "xnat/dcm2niix:1.0"], "size": 158000000,
             "labels": {"org.nrg.commands": "[]"}}
        ]),
    )
}

async fn hubs() -> Response {
    json(
        StatusCode::OK,
        &json!([{"id": 1, "name": "Docker Hub", "url": "https://index.docker.io/v1/",
                  "username": "", "email": "", "default": true, "ping": true}]),
    )
}

/// The daemon connection XNAT starts with (a local socket).
pub fn default_server() -> Value {
    json!({"id": 1, "name": "Local socket", "host": "unix:///var/run/docker.sock",
           "cert-path": "", "swarm-mode": false, "path-translation-xnat-prefix": "",
           "path-translation-docker-prefix": "", "pull-images-on-xnat-init": false,
           "container-user": "", "auto-cleanup": true})
}

/// `GET /xapi/docker/server`: the stored setting plus `ping` (the daemon answers).
async fn server(State(app): State<AppState>) -> Response {
    let mut v = app.read().docker_server.clone();
    if let Some(m) = v.as_object_mut() {
        m.insert("ping".into(), Value::Bool(true));
    }
    json(StatusCode::OK, &v)
}

/// `POST /xapi/docker/server` (admin) body a `DockerServer` JSON object: stored, echoed with `ping`.
async fn set_server(State(app): State<AppState>, caller: Caller, body: Bytes) -> Response {
    if !caller.admin {
        return xapi_error(StatusCode::FORBIDDEN, "");
    }
    let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(&body) else {
        return xapi_error(StatusCode::BAD_REQUEST, "");
    };
    m.remove("ping");
    app.write().docker_server = Value::Object(m.clone());
    m.insert("ping".into(), Value::Bool(true));
    json(StatusCode::OK, &Value::Object(m))
}

/// `POST /xapi/docker/pull?image=I[&save-commands=true|false]` (admin): 200 empty; no image → 400.
async fn pull(caller: Caller, q: Params) -> Response {
    if !caller.admin {
        return xapi_error(StatusCode::FORBIDDEN, "");
    }
    if q.get("image").is_none_or(|i| i.is_empty()) {
        return xapi_error(StatusCode::BAD_REQUEST, "");
    }
    text(StatusCode::OK, "")
}
