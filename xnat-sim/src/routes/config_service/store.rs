//! The stored entries: keys by scope, listing rows, project checks, and the read/write rules
//! shared by the site and project URLs.

use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::access;
use crate::envelope::{ok_empty, restlet_error, row, text, ResultSet, Row};
use crate::params::{Caller, Params};
use crate::state::{ConfigEntry, State as SimState};

/// Site (`None`) or project scope.
pub(super) fn key(project: Option<&str>, tool: &str, path: &str) -> String {
    let path = path.trim_matches('/');
    match project {
        Some(p) => format!("projects/{p}/{tool}/{path}"),
        None => format!("site/{tool}/{path}"),
    }
}

pub(super) fn prefix(project: Option<&str>) -> String {
    match project {
        Some(p) => format!("projects/{p}/"),
        None => "site/".to_string(),
    }
}

pub(super) fn config_row(project: Option<&str>, k: &str, e: &ConfigEntry, contents: bool) -> Row {
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
pub(super) fn check_project(
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

pub(super) fn tools(st: &SimState, project: Option<&str>, params: &Params) -> Response {
    let pre = prefix(project);
    let mut names: Vec<String> = st
        .configs
        .keys()
        .filter_map(|k| k.strip_prefix(&pre))
        .filter_map(|r| r.split('/').next())
        .map(str::to_string)
        .collect();
    names.dedup();
    if names.is_empty() {
        return missing(params);
    }
    let rows = names.into_iter().map(|t| row([("tool", t)])).collect();
    ResultSet::new(rows).respond(params.format().as_deref())
}

pub(super) fn tool_rows(
    st: &SimState,
    project: Option<&str>,
    tool: &str,
    params: &Params,
) -> Response {
    let pre = format!("{}{tool}/", prefix(project));
    let rows: Vec<Row> = st
        .configs
        .iter()
        .filter(|(k, _)| k.starts_with(&pre))
        .map(|(k, e)| config_row(project, k, e, true))
        .collect();
    // XNAT renders nothing for a tool without configs: 404 (`ConfigResource.represent`).
    if rows.is_empty() {
        return missing(params);
    }
    ResultSet::new(rows).respond(params.format().as_deref())
}

pub(super) fn missing(params: &Params) -> Response {
    if params.flag("accept-not-found") {
        return StatusCode::NO_CONTENT.into_response();
    }
    restlet_error(StatusCode::NOT_FOUND, "")
}

pub(super) fn get_one(
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
pub(super) async fn read_contents(
    req: Request,
) -> Result<(Option<String>, Option<bool>), Response> {
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

pub(super) fn parse_status(params: &Params) -> Option<bool> {
    params
        .get("status")
        .map(|s| s.eq_ignore_ascii_case("enabled"))
}

/// Store or toggle; 201 for a new entry, 200 otherwise.
pub(super) fn put_one(
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
