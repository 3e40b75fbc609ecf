//! The Container Service plugin's Docker endpoints (`/xapi/docker/...`): the images the daemon
//! holds (none on an empty site, a few with `--fixture demo`, plus what `pull` fetched), the
//! configured hubs (the plugin's default Docker Hub) and the daemon connection (the plugin's
//! default local socket, changeable), shaped as the plugin's `DockerImage`, `DockerHub` and
//! `DockerServer` beans serialise (kebab-case keys).

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

/// The images of the demo fixture's daemon (an empty site's daemon holds none).
pub fn demo_images() -> Vec<Value> {
    vec![
        json!({"image-id": "sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741",
               "tags": ["busybox:latest"], "size": 4261550, "labels": {}}),
        json!({"image-id": "sha256:9c1e8f1c2f4b0d6b6d1e3a1b8a7c2d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c",
               "tags": ["xnat/dcm2niix:latest", "xnat/dcm2niix:1.0"], "size": 158000000,
               "labels": {"org.nrg.commands": "[]"}}),
    ]
}

async fn images(State(app): State<AppState>) -> Response {
    json(
        StatusCode::OK,
        &Value::Array(app.read().docker_images.clone()),
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

/// `POST /xapi/docker/pull?image=I[&save-commands=true|false]` (admin; the plugin's
/// `DockerRestApi.pullImageFromDefaultHub` returns `void`): 200 empty, and the daemon now holds
/// the image (`NAME` means `NAME:latest`, as Docker resolves it); no image → 400. Saving the
/// image's commands (its `org.nrg.commands` label) is not modelled: pulled images have none.
async fn pull(State(app): State<AppState>, caller: Caller, q: Params) -> Response {
    if !caller.admin {
        return xapi_error(StatusCode::FORBIDDEN, "");
    }
    let Some(image) = q.get("image").filter(|i| !i.is_empty()) else {
        return xapi_error(StatusCode::BAD_REQUEST, "");
    };
    let tag = with_tag(image);
    let mut st = app.write();
    let held = st.docker_images.iter().any(|i| {
        i["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t.as_str() == Some(tag.as_str())))
    });
    if !held {
        let id = format!("sha256:{}", crate::state::md5_hex(tag.as_bytes()).repeat(2));
        st.docker_images
            .push(json!({"image-id": id, "tags": [tag], "size": 0, "labels": {}}));
    }
    text(StatusCode::OK, "")
}

/// `busybox` → `busybox:latest`; a tag or digest already given is kept.
fn with_tag(image: &str) -> String {
    let name = image.rsplit('/').next().unwrap_or(image);
    if name.contains(':') || name.contains('@') {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}
