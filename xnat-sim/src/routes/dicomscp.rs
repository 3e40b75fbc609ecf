//! DICOM SCP receivers, `/xapi/dicomscp` (fidelity spec §16; XNAT's `DicomSCPApi` and
//! `DicomSCPInstance`): list, one by id, create, update, delete, and the object identifiers.
//!
//! Reads need a login, writes and `GET /{id}` need an admin (403 otherwise). An unknown id is 404,
//! a second receiver with the same AE title and port is 400. The receivers drive the simulator's
//! DICOM listeners (`crate::dicom_receiver`): an association is accepted only for the AE title of
//! an enabled receiver on the listener's port, and each change re-syncs the per-port listeners,
//! as XNAT's `DicomSCPManager` cycles the receiver's port. `GET /__sim/dicom/listeners` (a
//! simulator control endpoint) tells where each receiver port listens.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::envelope::{json as json_response, ok_empty, xapi_error};
use crate::params::Caller;
use crate::AppState;

/// XNAT's default object identifier bean.
pub const DEFAULT_IDENTIFIER: &str = "dicomObjectIdentifier";

/// One receiver, serialised as XNAT's `DicomSCPInstance` (null fields omitted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScpReceiver {
    pub id: u64,
    pub ae_title: String,
    pub port: u32,
    pub identifier: String,
    pub enabled: bool,
    pub custom_processing: bool,
    pub direct_archive: bool,
    pub anonymization_enabled: bool,
    pub whitelist_enabled: bool,
    pub whitelist: Vec<String>,
    pub routing_expressions_enabled: bool,
    pub label: String,
}

impl ScpReceiver {
    pub fn new(id: u64, ae_title: &str, port: u32, identifier: &str) -> Self {
        ScpReceiver {
            id,
            ae_title: ae_title.to_string(),
            port,
            identifier: identifier.to_string(),
            enabled: true,
            custom_processing: false,
            direct_archive: false,
            anonymization_enabled: true,
            whitelist_enabled: false,
            whitelist: Vec::new(),
            routing_expressions_enabled: false,
            label: format!("{ae_title}:{port}"),
        }
    }
}

/// The receiver a fresh XNAT has: `XNAT:8104`, id 1.
pub fn default_receivers() -> BTreeMap<u64, ScpReceiver> {
    BTreeMap::from([(1, ScpReceiver::new(1, "XNAT", 8104, DEFAULT_IDENTIFIER))])
}

/// The `/xapi/dicomscp` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/xapi/dicomscp", get(list).post(create))
        .route("/xapi/dicomscp/identifiers", get(identifiers))
        .route("/xapi/dicomscp/{id}", get(one).put(update).delete(remove))
        .route("/__sim/dicom/listeners", get(listeners))
}

/// `GET /__sim/dicom/listeners`: `{"8104": "127.0.0.1:40111", ...}`, receiver port → address.
async fn listeners(State(app): State<AppState>) -> Response {
    let map: serde_json::Map<String, Value> = app
        .read()
        .dicom_listeners
        .addresses()
        .into_iter()
        .map(|(port, addr)| (port.to_string(), Value::from(addr.to_string())))
        .collect();
    json_response(StatusCode::OK, &Value::Object(map))
}

fn denied(caller: &Caller) -> Option<Response> {
    if caller.username.is_none() {
        return Some(xapi_error(StatusCode::UNAUTHORIZED, ""));
    }
    (!caller.admin).then(|| xapi_error(StatusCode::FORBIDDEN, ""))
}

fn body_of(r: &ScpReceiver) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

fn parse_id(id: &str) -> Result<u64, Response> {
    id.parse()
        .map_err(|_| xapi_error(StatusCode::BAD_REQUEST, &format!("Invalid ID: {id}")))
}

async fn list(State(app): State<AppState>, caller: Caller) -> Response {
    if caller.username.is_none() {
        return xapi_error(StatusCode::UNAUTHORIZED, "");
    }
    let st = app.read();
    let all: Vec<Value> = st.scp_receivers.values().map(body_of).collect();
    json_response(StatusCode::OK, &Value::Array(all))
}

async fn identifiers(caller: Caller) -> Response {
    if caller.username.is_none() {
        return xapi_error(StatusCode::UNAUTHORIZED, "");
    }
    json_response(
        StatusCode::OK,
        &json!({ DEFAULT_IDENTIFIER: "Default DICOM object identifier (ClassicDicomObjectIdentifier)" }),
    )
}

async fn one(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> Response {
    if let Some(r) = denied(&caller) {
        return r;
    }
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match app.read().scp_receivers.get(&id) {
        Some(r) => json_response(StatusCode::OK, &body_of(r)),
        None => xapi_error(StatusCode::NOT_FOUND, ""),
    }
}

fn body_object(body: &Bytes) -> Result<serde_json::Map<String, Value>, Response> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(xapi_error(
            StatusCode::BAD_REQUEST,
            "The request body must be a DICOM SCP instance object",
        )),
    }
}

/// Apply the known fields of `m` to `r` (unknown keys are ignored, as Jackson is configured).
fn apply(r: &mut ScpReceiver, m: &serde_json::Map<String, Value>) {
    if let Some(v) = m.get("aeTitle").and_then(Value::as_str) {
        r.ae_title = v.to_string();
    }
    if let Some(v) = m.get("port").and_then(Value::as_u64) {
        r.port = v as u32;
    }
    if let Some(v) = m.get("identifier").and_then(Value::as_str) {
        r.identifier = v.to_string();
    }
    for (key, field) in [
        ("enabled", &mut r.enabled),
        ("customProcessing", &mut r.custom_processing),
        ("directArchive", &mut r.direct_archive),
        ("anonymizationEnabled", &mut r.anonymization_enabled),
        ("whitelistEnabled", &mut r.whitelist_enabled),
        (
            "routingExpressionsEnabled",
            &mut r.routing_expressions_enabled,
        ),
    ] {
        if let Some(v) = m.get(key).and_then(Value::as_bool) {
            *field = v;
        }
    }
    if let Some(list) = m.get("whitelist").and_then(Value::as_array) {
        // XNAT keeps the distinct non-blank entries (`DicomSCPManager.saveDicomSCPInstance`).
        let mut kept: Vec<String> = Vec::new();
        for item in list.iter().filter_map(Value::as_str).map(str::trim) {
            if !item.is_empty() && !kept.iter().any(|k| k == item) {
                kept.push(item.to_string());
            }
        }
        r.whitelist = kept;
    }
    r.label = format!("{}:{}", r.ae_title, r.port);
}

/// XNAT's `AE_TITLE_PATTERN`: 1-16 printable ASCII characters, no backslash, no leading or
/// trailing space.
fn valid_ae_title(ae: &str) -> bool {
    (1..=16).contains(&ae.len())
        && ae.chars().all(|c| (' '..='~').contains(&c) && c != '\\')
        && !ae.starts_with(' ')
        && !ae.ends_with(' ')
}

/// What `DicomSCPManager.saveDicomSCPInstance` refuses before saving: an unknown object
/// identifier (`DicomScpUnknownDOIException`) or an AE title off its pattern
/// (`DicomScpInvalidAeTitleException`); 400 here (UNCONFIRMED: the reference saw 400/500 for a
/// bad identifier). The port is not checked at all: XNAT accepts 0 and ports other receivers
/// use (the reference verified it live); the simulator then listens on no port outside 1-65535.
fn rejected(r: &ScpReceiver) -> Option<Response> {
    if r.identifier != DEFAULT_IDENTIFIER {
        return Some(xapi_error(
            StatusCode::BAD_REQUEST,
            &format!("Unknown DICOM object identifier: {}", r.identifier),
        ));
    }
    if !valid_ae_title(&r.ae_title) {
        return Some(xapi_error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid AE-title: {}", r.ae_title),
        ));
    }
    None
}

fn duplicate(st: &crate::state::State, r: &ScpReceiver) -> bool {
    st.scp_receivers
        .values()
        .any(|o| o.id != r.id && o.ae_title == r.ae_title && o.port == r.port)
}

async fn create(State(app): State<AppState>, caller: Caller, body: Bytes) -> Response {
    if let Some(r) = denied(&caller) {
        return r;
    }
    let m = match body_object(&body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let mut st = app.write();
    let id = st.scp_receivers.keys().max().copied().unwrap_or(0) + 1;
    let mut r = ScpReceiver::new(id, "", 0, DEFAULT_IDENTIFIER);
    apply(&mut r, &m);
    if let Some(e) = rejected(&r) {
        return e;
    }
    if duplicate(&st, &r) {
        return xapi_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "There is already a DICOM SCP instance with the AE title and port {}",
                r.label
            ),
        );
    }
    let out = body_of(&r);
    st.scp_receivers.insert(id, r);
    drop(st);
    crate::dicom_receiver::sync_ports(&app);
    json_response(StatusCode::OK, &out)
}

async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(r) = denied(&caller) {
        return r;
    }
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let m = match body_object(&body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let mut st = app.write();
    let Some(mut r) = st.scp_receivers.get(&id).cloned() else {
        return xapi_error(StatusCode::NOT_FOUND, "");
    };
    apply(&mut r, &m);
    if let Some(e) = rejected(&r) {
        return e;
    }
    if duplicate(&st, &r) {
        return xapi_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "There is already a DICOM SCP instance with the AE title and port {}",
                r.label
            ),
        );
    }
    let out = body_of(&r);
    st.scp_receivers.insert(id, r);
    drop(st);
    crate::dicom_receiver::sync_ports(&app);
    json_response(StatusCode::OK, &out)
}

async fn remove(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> Response {
    if let Some(r) = denied(&caller) {
        return r;
    }
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let removed = app.write().scp_receivers.remove(&id);
    match removed {
        Some(_) => {
            crate::dicom_receiver::sync_ports(&app);
            ok_empty()
        }
        None => xapi_error(StatusCode::NOT_FOUND, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_keep_the_label_in_step() {
        let mut r = ScpReceiver::new(2, "A", 1, DEFAULT_IDENTIFIER);
        let m = json!({"port": 11112, "enabled": false});
        apply(&mut r, m.as_object().unwrap());
        assert_eq!((r.label.as_str(), r.enabled), ("A:11112", false));
        let m = json!({"whitelistEnabled": true, "whitelist": ["SCU", " ", "SCU", "10.0.0.0/8"]});
        apply(&mut r, m.as_object().unwrap());
        assert!(r.whitelist_enabled);
        assert_eq!(r.whitelist, ["SCU", "10.0.0.0/8"]);
    }

    #[test]
    fn ae_titles_follow_xnats_pattern_and_ports_are_not_checked() {
        for ok in ["XNAT", "A B", "SIXTEEN_CHARS_XX", "~!"] {
            assert!(valid_ae_title(ok), "{ok}");
        }
        for bad in ["", " XNAT", "XNAT ", "A\\B", "SEVENTEEN_CHARS_X", "É"] {
            assert!(!valid_ae_title(bad), "{bad}");
        }
        let r = ScpReceiver::new(2, "OK", 0, DEFAULT_IDENTIFIER);
        assert!(rejected(&r).is_none());
        let r = ScpReceiver::new(2, "OK", 104, "nope");
        assert!(rejected(&r).is_some());
    }
}
