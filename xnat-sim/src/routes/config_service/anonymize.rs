//! The XAPI anonymization views `/xapi/anonymize/...` of the stored `anon` scripts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::store::key;
use super::DEFAULT_ANON_SCRIPT;
use crate::access;
use crate::envelope::xapi_error;
use crate::params::{Caller, Params};
use crate::state::{ConfigEntry, State as SimState};
use crate::AppState;

pub(super) fn site_anon_key() -> String {
    key(None, "anon", "script")
}

pub(super) fn project_anon_key(p: &str) -> String {
    key(Some(p), "anon", &format!("projects/{p}"))
}

pub(super) async fn anon_default() -> Response {
    xapi_text(DEFAULT_ANON_SCRIPT.to_string())
}

pub(super) fn xapi_text(body: String) -> Response {
    crate::envelope::with_type(StatusCode::OK, "text/plain", body)
}

pub(super) fn store_script(
    st: &mut SimState,
    caller: &Caller,
    k: String,
    body: String,
) -> Response {
    // XNAT's `replaceConfig` without a status stores the new version enabled.
    let version = st.configs.get(&k).map(|e| e.version + 1).unwrap_or(1);
    st.configs.insert(
        k,
        ConfigEntry {
            contents: body,
            enabled: true,
            version,
            user: caller.name().to_string(),
            create_date: crate::state::now_timestamp(),
            reason: String::new(),
            unversioned: false,
        },
    );
    StatusCode::OK.into_response()
}

pub(super) fn set_enabled(st: &mut SimState, k: &str, params: &Params, body: &str) -> Response {
    let value = params
        .get("enable")
        .map(str::to_string)
        .unwrap_or_else(|| body.trim().to_string());
    let on = match value.to_ascii_lowercase().as_str() {
        "true" => true,
        "false" => false,
        _ => return xapi_error(StatusCode::BAD_REQUEST, "enable must be true or false"),
    };
    match st.configs.get_mut(k) {
        Some(e) => {
            e.enabled = on;
            StatusCode::OK.into_response()
        }
        None => xapi_error(StatusCode::NOT_FOUND, ""),
    }
}

pub(super) async fn anon_site_get(State(app): State<AppState>) -> Response {
    // XNAT reads the contents of the enabled config only (`getConfigContents`): a disabled
    // script answers an empty body.
    let st = app.read();
    let body = match st.configs.get(&site_anon_key()) {
        Some(e) if e.enabled => e.contents.clone(),
        Some(_) => String::new(),
        None => DEFAULT_ANON_SCRIPT.to_string(),
    };
    xapi_text(body)
}

pub(super) async fn anon_site_put(
    State(app): State<AppState>,
    caller: Caller,
    body: String,
) -> Response {
    if !caller.admin {
        return xapi_error(StatusCode::FORBIDDEN, "");
    }
    store_script(&mut app.write(), &caller, site_anon_key(), body)
}

pub(super) async fn anon_site_enabled(State(app): State<AppState>) -> Response {
    let on = app
        .read()
        .configs
        .get(&site_anon_key())
        .is_some_and(|e| e.enabled);
    crate::envelope::json(StatusCode::OK, &serde_json::Value::Bool(on))
}

pub(super) async fn anon_site_set_enabled(
    State(app): State<AppState>,
    caller: Caller,
    params: Params,
    body: String,
) -> Response {
    if !caller.admin {
        return xapi_error(StatusCode::FORBIDDEN, "");
    }
    set_enabled(&mut app.write(), &site_anon_key(), &params, &body)
}

/// XAPI project checks: unknown or unreadable → 404, write without owner rights → 403.
pub(super) fn xapi_project(
    st: &SimState,
    caller: &Caller,
    project: &str,
    write: bool,
) -> Result<String, Response> {
    match st.projects.get(project) {
        Some(p) if access::can_read(caller, p) => {
            if write && !access::can_delete(caller, p) {
                Err(xapi_error(StatusCode::FORBIDDEN, ""))
            } else {
                Ok(p.id.clone())
            }
        }
        _ => Err(xapi_error(StatusCode::NOT_FOUND, "")),
    }
}

pub(super) async fn anon_project_get(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> Response {
    let st = app.read();
    let pid = match xapi_project(&st, &caller, &project, false) {
        Ok(p) => p,
        Err(r) => return r,
    };
    // Only an enabled, non-blank script is returned; none or disabled → 204 (XNAT's
    // `getConfigContents` hides disabled configs).
    match st.configs.get(&project_anon_key(&pid)) {
        Some(e) if e.enabled && !e.contents.trim().is_empty() => xapi_text(e.contents.clone()),
        _ => StatusCode::NO_CONTENT.into_response(),
    }
}

pub(super) async fn anon_project_put(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    body: String,
) -> Response {
    let mut st = app.write();
    let pid = match xapi_project(&st, &caller, &project, true) {
        Ok(p) => p,
        Err(r) => return r,
    };
    store_script(&mut st, &caller, project_anon_key(&pid), body)
}

pub(super) async fn anon_project_enabled(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> Response {
    let st = app.read();
    let pid = match xapi_project(&st, &caller, &project, false) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let on = st
        .configs
        .get(&project_anon_key(&pid))
        .is_some_and(|e| e.enabled);
    crate::envelope::json(StatusCode::OK, &serde_json::Value::Bool(on))
}

pub(super) async fn anon_project_set_enabled(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    params: Params,
    body: String,
) -> Response {
    let mut st = app.write();
    let pid = match xapi_project(&st, &caller, &project, true) {
        Ok(p) => p,
        Err(r) => return r,
    };
    set_enabled(&mut st, &project_anon_key(&pid), &params, &body)
}
