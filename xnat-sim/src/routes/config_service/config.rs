//! The config service URLs: `/data/config/...` (site) and `/data/projects/{P}/config/...`.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::store::*;
use crate::envelope::{ok_empty, restlet_error};
use crate::params::{Caller, Params};
use crate::AppState;

pub(super) fn site_write_denied() -> Response {
    restlet_error(
        StatusCode::FORBIDDEN,
        "User does not have privileges to modify site-wide configuration",
    )
}

pub(super) async fn site_tools(State(app): State<AppState>, params: Params) -> Response {
    tools(&app.read(), None, &params)
}

pub(super) async fn site_tool(
    State(app): State<AppState>,
    Path(tool): Path<String>,
    params: Params,
) -> Response {
    tool_rows(&app.read(), None, &tool, &params)
}

pub(super) async fn site_get(
    State(app): State<AppState>,
    Path((tool, path)): Path<(String, String)>,
    params: Params,
) -> Response {
    get_one(&app.read(), None, &tool, &path, &params)
}

pub(super) async fn site_put(
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

pub(super) async fn site_delete(
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

pub(super) async fn project_tools(
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

pub(super) async fn project_tool(
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

pub(super) async fn project_get(
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

pub(super) async fn project_put(
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

pub(super) async fn project_delete(
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
