//! Site configuration and build info (`/xapi/siteConfig...`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::envelope::{json as json_resp, text, xapi_error};
use crate::params::{Caller, Params};
use crate::AppState;

/// The version the simulator reports.
pub const VERSION: &str = "1.8.10";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/xapi/siteConfig", get(get_all).post(set_many))
        .route("/xapi/siteConfig/buildInfo", get(build_info))
        .route("/xapi/siteConfig/buildInfo/{key}", get(build_property))
        .route("/xapi/siteConfig/uptime", get(uptime))
        .route("/xapi/siteConfig/{key}", get(get_one).post(set_one))
        .route("/xapi/plugins", get(plugins))
        .route("/xapi/plugins/{id}", get(plugin))
}

fn build_map() -> Map<String, Value> {
    let v = json!({
        "version": VERSION,
        "buildNumber": "1651",
        "buildDate": "Tue Aug 20 18:10:41 CDT 2019",
        "sha": "5696414138",
        "isDirty": "false",
        "commit": "2",
        "tag": VERSION,
        "shaFull": "5696414138d8c95288bf45c8eac2150ba041e867",
        "branch": "master",
        "timestamp": "1566342641000",
        "hostName": "xnat-sim",
        "displayHostName": "xnat-sim",
        "nodeId": "xnat-sim"
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

async fn build_info() -> Response {
    json_resp(StatusCode::OK, &Value::Object(build_map()))
}

async fn build_property(Path(key): Path<String>) -> Response {
    match build_map().get(&key).and_then(Value::as_str) {
        Some(v) => text(StatusCode::OK, v.to_string()),
        None => xapi_error(StatusCode::NOT_FOUND, ""),
    }
}

/// The installed plugins as `PluginsApi` serves them: `XnatPluginBean`s keyed by plugin id.
fn plugin_map() -> Map<String, Value> {
    let bean = |id: &str, name: &str, version: &str, class: &str, bean: &str| {
        json!({
            "id": id,
            "name": name,
            "pluginClass": class,
            "beanName": bean,
            "version": version,
            "description": "",
            "logConfigurationFile": "",
            "entityPackages": [],
            "extendedAttributes": {}
        })
    };
    let mut m = Map::new();
    m.insert(
        "containers".into(),
        bean(
            "containers",
            "Container Service",
            "3.4.3-fat",
            "org.nrg.containers.ContainersPlugin",
            "containersPlugin",
        ),
    );
    m.insert(
        "ohifViewerPlugin".into(),
        bean(
            "ohifViewerPlugin",
            "OHIF Viewer",
            "3.6.2",
            "org.nrg.xnatx.ohifviewer.OhifViewerPlugin",
            "ohifViewerPlugin",
        ),
    );
    m
}

/// `GET /xapi/plugins`: a JSON object keyed by plugin id.
async fn plugins() -> Response {
    json_resp(StatusCode::OK, &Value::Object(plugin_map()))
}

/// `GET /xapi/plugins/{id}`: the plugin's bean; unknown id → 404 with an empty body.
async fn plugin(Path(id): Path<String>) -> Response {
    match plugin_map().remove(&id) {
        Some(v) => json_resp(StatusCode::OK, &v),
        None => xapi_error(StatusCode::NOT_FOUND, ""),
    }
}

async fn uptime() -> Response {
    json_resp(
        StatusCode::OK,
        &json!({"days": 0, "hours": 0, "minutes": 0, "seconds": 1}),
    )
}

async fn get_all(State(app): State<AppState>) -> Response {
    json_resp(
        StatusCode::OK,
        &Value::Object(app.read().site_config.clone()),
    )
}

/// One preference as `SiteConfigApi.getSpecifiedSiteConfigProperty` answers it: the method
/// returns the preference's `Object` with `produces = application/json`, and XNAT's `WebConfig`
/// registers `StringHttpMessageConverter` before Jackson. Spring picks the first converter that
/// can write the value's class in the selected type, and the string converter writes `String` in
/// any type (`*/*`), so a string preference comes back as its raw text, unquoted, under
/// `Content-Type: application/json`; other values go through Jackson as JSON.
fn value_response(v: &Value) -> Response {
    match v {
        Value::String(s) => raw_string(s),
        other => json_resp(StatusCode::OK, other),
    }
}

fn raw_string(s: &str) -> Response {
    crate::envelope::with_type(StatusCode::OK, "application/json", s.to_string())
}

async fn get_one(State(app): State<AppState>, Path(key): Path<String>) -> Response {
    if key == "siteId" {
        return raw_string(&app.read().site_id);
    }
    match app.read().site_config.get(&key) {
        Some(v) => value_response(v),
        None => xapi_error(StatusCode::NOT_FOUND, ""),
    }
}

/// Body → value: JSON when it parses, else the raw text.
fn body_value(body: &[u8]) -> Value {
    let raw = String::from_utf8_lossy(body).to_string();
    serde_json::from_str(&raw).unwrap_or(Value::String(raw))
}

async fn set_many(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !caller.admin {
        return xapi_error(StatusCode::FORBIDDEN, "");
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let mut st = app.write();
    if is_form {
        let p = Params::parse(std::str::from_utf8(&body).ok());
        for (k, v) in p.iter() {
            st.site_config
                .insert(k.to_string(), Value::String(v.to_string()));
        }
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => {
                for (k, v) in m {
                    st.site_config.insert(k, v);
                }
            }
            _ => return xapi_error(StatusCode::BAD_REQUEST, ""),
        }
    }
    if let Some(Value::String(id)) = st.site_config.get("siteId").cloned() {
        st.site_id = id;
    }
    text(StatusCode::OK, "")
}

async fn set_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    if !caller.admin {
        return xapi_error(StatusCode::FORBIDDEN, "");
    }
    let v = body_value(&body);
    let mut st = app.write();
    if key == "siteId" {
        if let Value::String(s) = &v {
            st.site_id = s.clone();
        }
    }
    st.site_config.insert(key, v);
    text(StatusCode::OK, "")
}

/// Preference defaults worth mirroring (fidelity spec §15).
pub fn default_site_config() -> Map<String, Value> {
    let v = json!({
        "siteId": "XNAT",
        "siteUrl": "",
        "initialized": false,
        "requireLogin": true,
        "enableCsrfToken": true,
        "sessionTimeout": "15 minutes",
        "aliasTokenTimeout": "2 days",
        "archivePath": "/data/xnat/archive",
        "prearchivePath": "/data/xnat/prearchive",
        "cachePath": "/data/xnat/cache",
        "buildPath": "/data/xnat/build",
        "ftpPath": "/data/xnat/ftp",
        "pipelinePath": "/data/xnat/pipeline",
        "inboxPath": "/data/xnat/inbox",
        "checksums": true,
        "enableDicomReceiver": true,
        "uiAllowNonAdminProjectCreation": true,
        "securityAllowNonPrivateProjects": true,
        "uiDefaultCompressedUploaderImporter": "DICOM-zip",
        "zipExtensions": "zip,jar,rar,ear,gar,mrb",
        "primaryAdminUsername": "admin",
        "concurrentMaxSessions": 1000,
        "userRegistration": false,
        "siteHome": "/screens/QuickSearch.vm"
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parts(v: Value) -> (String, String) {
        let r = value_response(&v);
        let ct = r.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        (ct, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_string_preference_is_its_raw_text_typed_as_json_and_others_are_json() {
        assert_eq!(
            parts(json!("15 minutes")).await,
            ("application/json".into(), "15 minutes".into())
        );
        assert_eq!(
            parts(json!(true)).await,
            ("application/json".into(), "true".into())
        );
        assert_eq!(
            parts(json!(["a"])).await,
            ("application/json".into(), "[\"a\"]".into())
        );
    }
}
