//! The configuration service and anonymization scripts (fidelity spec §14): `/data/config/...`
//! (site), `/data/projects/{P}/config/...` (project), and the XAPI `/xapi/anonymize/...` views of
//! the same stored scripts.
//!
//! Storage keys in [`crate::state::State::configs`]: `site/{tool}/{path}` and
//! `projects/{P}/{tool}/{path}`. The project anonymization script is tool `anon`, path
//! `projects/{P}` (XNAT's quirk), so `/xapi/anonymize/projects/P` and
//! `/data/projects/P/config/anon/projects/P` are the same entry. Only the latest version is kept.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::access;
use crate::envelope::{ok_empty, restlet_error, row, text, xapi_error, ResultSet, Row};
use crate::params::{Caller, Params};
use crate::state::{ConfigEntry, State as SimState};
use crate::AppState;

/// What `/xapi/anonymize/default` answers.
pub const DEFAULT_ANON_SCRIPT: &str = "version \"6.1\"\n// Default site-wide anonymization script (xnat-sim)\n(0010,0010) := project\n(0010,0020) := subject\n(0008,0050) := session\n";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/data/config", get(site_tools))
        .route("/data/config/{tool}", get(site_tool))
        .route(
            "/data/config/{tool}/{*path}",
            get(site_get)
                .put(site_put)
                .post(site_put)
                .delete(site_delete),
        )
        .route("/data/projects/{project}/config", get(project_tools))
        .route("/data/projects/{project}/config/{tool}", get(project_tool))
        .route(
            "/data/projects/{project}/config/{tool}/{*path}",
            get(project_get)
                .put(project_put)
                .post(project_put)
                .delete(project_delete),
        )
        .route("/xapi/anonymize/default", get(anon_default))
        .route(
            "/xapi/anonymize/site",
            get(anon_site_get).put(anon_site_put),
        )
        .route(
            "/xapi/anonymize/site/enabled",
            get(anon_site_enabled).put(anon_site_set_enabled),
        )
        .route(
            "/xapi/anonymize/projects/{project}",
            get(anon_project_get).put(anon_project_put),
        )
        .route(
            "/xapi/anonymize/projects/{project}/enabled",
            get(anon_project_enabled).put(anon_project_set_enabled),
        )
}

/// Site (`None`) or project scope.
fn key(project: Option<&str>, tool: &str, path: &str) -> String {
    let path = path.trim_matches('/');
    match project {
        Some(p) => format!("projects/{p}/{tool}/{path}"),
        None => format!("site/{tool}/{path}"),
    }
}

fn prefix(project: Option<&str>) -> String {
    match project {
        Some(p) => format!("projects/{p}/"),
        None => "site/".to_string(),
    }
}

fn config_row(project: Option<&str>, k: &str, e: &ConfigEntry, contents: bool) -> Row {
    let rest = &k[prefix(project).len()..];
    let (tool, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut r = row([
        ("tool", tool.to_string()),
        ("path", path.to_string()),
        ("project", project.unwrap_or("").to_string()),
        ("user", e.user.clone()),
        ("create_date", e.create_date.clone()),
        ("reason", e.reason.clone()),
    ]);
    if contents {
        r.insert("contents".into(), e.contents.clone().into());
    }
    for (k, v) in [
        ("unversioned", e.unversioned.to_string()),
        ("version", e.version.to_string()),
        (
            "status",
            if e.enabled { "enabled" } else { "disabled" }.to_string(),
        ),
    ] {
        r.insert(k.into(), v.into());
    }
    r
}

/// Project scope checks: unreadable → 404 (RT); writes need owner or admin.
fn check_project(
    st: &SimState,
    caller: &Caller,
    project: &str,
    write: bool,
) -> Result<String, Response> {
    let Some(p) = st.project_by_id_or_alias(project) else {
        return Err(crate::routes::common::project_not_found(project));
    };
    if !access::can_read(caller, p) {
        return Err(crate::routes::common::project_not_found(project));
    }
    if write && !access::can_delete(caller, p) {
        return Err(restlet_error(
            StatusCode::FORBIDDEN,
            "User does not have privileges to modify config for this project",
        ));
    }
    Ok(p.id.clone())
}

fn tools(st: &SimState, project: Option<&str>, params: &Params) -> Response {
    let pre = prefix(project);
    let mut names: Vec<String> = st
        .configs
        .keys()
        .filter_map(|k| k.strip_prefix(&pre))
        .filter_map(|r| r.split('/').next())
        .map(str::to_string)
        .collect();
    names.dedup();
    let rows = names.into_iter().map(|t| row([("tool", t)])).collect();
    ResultSet::new(rows).respond(params.format().as_deref())
}

fn tool_rows(st: &SimState, project: Option<&str>, tool: &str, params: &Params) -> Response {
    let pre = format!("{}{tool}/", prefix(project));
    let rows = st
        .configs
        .iter()
        .filter(|(k, _)| k.starts_with(&pre))
        .map(|(k, e)| config_row(project, k, e, true))
        .collect();
    ResultSet::new(rows).respond(params.format().as_deref())
}

fn missing(params: &Params) -> Response {
    if params.flag("accept-not-found") {
        return StatusCode::NO_CONTENT.into_response();
    }
    restlet_error(StatusCode::NOT_FOUND, "")
}

fn get_one(
    st: &SimState,
    project: Option<&str>,
    tool: &str,
    path: &str,
    params: &Params,
) -> Response {
    let k = key(project, tool, path);
    let (scope, found) = match (st.configs.get(&k), project) {
        (Some(e), _) => (project, Some((k, e))),
        (None, Some(_)) if params.flag("defaultToSiteWide") => {
            let sk = key(None, tool, path);
            (None, st.configs.get(&sk).map(|e| (sk, e)))
        }
        _ => (project, None),
    };
    let Some((k, e)) = found else {
        return missing(params);
    };
    if let Some(v) = params.get("version") {
        if v != e.version.to_string() {
            return missing(params);
        }
    }
    if params.flag("contents") {
        if !e.enabled {
            return missing(params);
        }
        return text(StatusCode::OK, e.contents.clone());
    }
    let with_contents = !params.flag("meta");
    ResultSet::new(vec![config_row(scope, &k, e, with_contents)])
        .respond(params.format().as_deref())
}

/// The new contents of a PUT: raw body, one multipart file, or `{"contents": ..., "status": ...}`.
async fn read_contents(req: Request) -> Result<(Option<String>, Option<bool>), Response> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let bad = |e: String| restlet_error(StatusCode::BAD_REQUEST, &e);
    if ct.starts_with("multipart/form-data") {
        let mut mp = axum::extract::Multipart::from_request(req, &())
            .await
            .map_err(|e| bad(e.body_text()))?;
        let field = mp.next_field().await.map_err(|e| bad(e.body_text()))?;
        return match field {
            Some(f) => Ok((Some(f.text().await.map_err(|e| bad(e.body_text()))?), None)),
            None => Ok((None, None)),
        };
    }
    let body = axum::body::to_bytes(req.into_body(), 16 << 20)
        .await
        .map_err(|e| bad(e.to_string()))?;
    if body.is_empty() {
        return Ok((None, None));
    }
    let s = String::from_utf8_lossy(&body).into_owned();
    if ct.starts_with("application/json") {
        let v: serde_json::Value = serde_json::from_str(&s).map_err(|e| bad(e.to_string()))?;
        let contents = v
            .get("contents")
            .and_then(|c| c.as_str())
            .map(str::to_string);
        let status = v
            .get("status")
            .and_then(|c| c.as_str())
            .map(|s| s == "enabled");
        return Ok((contents, status));
    }
    Ok((Some(s), None))
}

fn parse_status(params: &Params) -> Option<bool> {
    params
        .get("status")
        .map(|s| s.eq_ignore_ascii_case("enabled"))
}

/// Store or toggle; 201 for a new entry, 200 otherwise.
fn put_one(
    st: &mut SimState,
    caller: &Caller,
    k: String,
    contents: Option<String>,
    status: Option<bool>,
    params: &Params,
) -> Response {
    let now = crate::state::now_timestamp();
    match (st.configs.get_mut(&k), contents) {
        (Some(e), None) => match status {
            Some(on) => {
                e.enabled = on;
                ok_empty()
            }
            None => restlet_error(StatusCode::BAD_REQUEST, "Need PUT Contents"),
        },
        (None, None) => {
            if status.is_some() {
                restlet_error(StatusCode::NOT_FOUND, "")
            } else {
                restlet_error(StatusCode::BAD_REQUEST, "Need PUT Contents")
            }
        }
        (existing, Some(c)) => {
            let (version, created) = match &existing {
                Some(e) => (e.version + 1, false),
                None => (1, true),
            };
            let enabled = status.unwrap_or(existing.as_ref().is_none_or(|e| e.enabled));
            st.configs.insert(
                k,
                ConfigEntry {
                    contents: c,
                    enabled,
                    version,
                    user: caller.name().to_string(),
                    create_date: now,
                    reason: params.get("reason").unwrap_or("").to_string(),
                    unversioned: params.flag("unversioned"),
                },
            );
            let code = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            text(code, "")
        }
    }
}

fn site_write_denied() -> Response {
    restlet_error(
        StatusCode::FORBIDDEN,
        "User does not have privileges to modify site-wide configuration",
    )
}

async fn site_tools(State(app): State<AppState>, params: Params) -> Response {
    tools(&app.read(), None, &params)
}

async fn site_tool(
    State(app): State<AppState>,
    Path(tool): Path<String>,
    params: Params,
) -> Response {
    tool_rows(&app.read(), None, &tool, &params)
}

async fn site_get(
    State(app): State<AppState>,
    Path((tool, path)): Path<(String, String)>,
    params: Params,
) -> Response {
    get_one(&app.read(), None, &tool, &path, &params)
}

async fn site_put(
    State(app): State<AppState>,
    caller: Caller,
    Path((tool, path)): Path<(String, String)>,
    params: Params,
    req: Request,
) -> Response {
    if !caller.admin {
        return site_write_denied();
    }
    let (contents, json_status) = match read_contents(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let status = parse_status(&params).or(json_status);
    put_one(
        &mut app.write(),
        &caller,
        key(None, &tool, &path),
        contents,
        status,
        &params,
    )
}

async fn site_delete(
    State(app): State<AppState>,
    caller: Caller,
    Path((tool, path)): Path<(String, String)>,
) -> Response {
    if !caller.admin {
        return site_write_denied();
    }
    match app.write().configs.remove(&key(None, &tool, &path)) {
        Some(_) => ok_empty(),
        None => restlet_error(StatusCode::NOT_FOUND, ""),
    }
}

async fn project_tools(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    params: Params,
) -> Response {
    let st = app.read();
    match check_project(&st, &caller, &project, false) {
        Ok(p) => tools(&st, Some(&p), &params),
        Err(r) => r,
    }
}

async fn project_tool(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, tool)): Path<(String, String)>,
    params: Params,
) -> Response {
    let st = app.read();
    match check_project(&st, &caller, &project, false) {
        Ok(p) => tool_rows(&st, Some(&p), &tool, &params),
        Err(r) => r,
    }
}

async fn project_get(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, tool, path)): Path<(String, String, String)>,
    params: Params,
) -> Response {
    let st = app.read();
    match check_project(&st, &caller, &project, false) {
        Ok(p) => get_one(&st, Some(&p), &tool, &path, &params),
        Err(r) => r,
    }
}

async fn project_put(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, tool, path)): Path<(String, String, String)>,
    params: Params,
    req: Request,
) -> Response {
    let pid = match check_project(&app.read(), &caller, &project, true) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (contents, json_status) = match read_contents(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let status = parse_status(&params).or(json_status);
    put_one(
        &mut app.write(),
        &caller,
        key(Some(&pid), &tool, &path),
        contents,
        status,
        &params,
    )
}

async fn project_delete(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, tool, path)): Path<(String, String, String)>,
) -> Response {
    let mut st = app.write();
    let pid = match check_project(&st, &caller, &project, true) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match st.configs.remove(&key(Some(&pid), &tool, &path)) {
        Some(_) => ok_empty(),
        None => restlet_error(StatusCode::NOT_FOUND, ""),
    }
}

fn site_anon_key() -> String {
    key(None, "anon", "script")
}

fn project_anon_key(p: &str) -> String {
    key(Some(p), "anon", &format!("projects/{p}"))
}

async fn anon_default() -> Response {
    xapi_text(DEFAULT_ANON_SCRIPT.to_string())
}

fn xapi_text(body: String) -> Response {
    crate::envelope::with_type(StatusCode::OK, "text/plain", body)
}

fn store_script(st: &mut SimState, caller: &Caller, k: String, body: String) -> Response {
    let (version, enabled) = st
        .configs
        .get(&k)
        .map(|e| (e.version + 1, e.enabled))
        .unwrap_or((1, true));
    st.configs.insert(
        k,
        ConfigEntry {
            contents: body,
            enabled,
            version,
            user: caller.name().to_string(),
            create_date: crate::state::now_timestamp(),
            reason: String::new(),
            unversioned: false,
        },
    );
    StatusCode::OK.into_response()
}

fn set_enabled(st: &mut SimState, k: &str, params: &Params, body: &str) -> Response {
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

async fn anon_site_get(State(app): State<AppState>) -> Response {
    let st = app.read();
    let body = st
        .configs
        .get(&site_anon_key())
        .map(|e| e.contents.clone())
        .unwrap_or_else(|| DEFAULT_ANON_SCRIPT.to_string());
    xapi_text(body)
}

async fn anon_site_put(State(app): State<AppState>, caller: Caller, body: String) -> Response {
    if !caller.admin {
        return xapi_error(StatusCode::FORBIDDEN, "");
    }
    store_script(&mut app.write(), &caller, site_anon_key(), body)
}

async fn anon_site_enabled(State(app): State<AppState>) -> Response {
    let on = app
        .read()
        .configs
        .get(&site_anon_key())
        .is_some_and(|e| e.enabled);
    crate::envelope::json(StatusCode::OK, &serde_json::Value::Bool(on))
}

async fn anon_site_set_enabled(
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
fn xapi_project(
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

async fn anon_project_get(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> Response {
    let st = app.read();
    let pid = match xapi_project(&st, &caller, &project, false) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match st.configs.get(&project_anon_key(&pid)) {
        Some(e) => xapi_text(e.contents.clone()),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn anon_project_put(
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

async fn anon_project_enabled(
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

async fn anon_project_set_enabled(
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

#[cfg(test)]
mod tests;
