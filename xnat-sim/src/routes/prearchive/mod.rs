//! The prearchive (fidelity spec §13): listings, session detail, delete, rebuild, move, commit,
//! and the archive service `POST /data/services/archive`, plus the batch services under
//! `/data/services/prearchive/{move,delete,rebuild}`.
//!
//! [`archive_session`] is shared with the import service: it turns a prearchive entry into an
//! archived subject/session with one `DICOM` resource per scan, reusing the stored files in place.
//!
//! [`session`] answers the per-session URLs, [`archive`] turns an entry into archive objects, and
//! [`services`] holds the `/data/services/...` endpoints that act on many entries.

mod archive;
mod services;
mod session;

pub use archive::{archive_session, xsi_types, ArchiveTarget};
pub use services::parse_src;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::access;
use crate::envelope::{restlet_error, row, ResultSet, Row};
use crate::params::{Caller, Params};
use crate::state::{PrearchiveEntry, State as SimState};
use crate::AppState;

/// The prearchive routes and the archive services.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/data/prearchive", get(list_all))
        .route("/data/prearchive/projects", get(list_all))
        .route("/data/prearchive/projects/{project}", get(list_project))
        .route(
            "/data/prearchive/projects/{project}/{key}/{folder}",
            get(session::detail)
                .delete(session::delete)
                .post(session::action),
        )
        .route(
            "/data/prearchive/projects/{project}/{key}/{folder}/scans",
            get(session::scans),
        )
        .route("/data/services/archive", post(services::archive_service))
        .route("/data/services/prearchive/{key}", post(services::batch))
}

/// `/prearchive/projects/P/TS/FOLDER` (no `/data`, as in the `url` column).
pub fn entry_url(e: &PrearchiveEntry) -> String {
    format!(
        "/prearchive/projects/{}/{}/{}",
        e.project, e.timestamp, e.folder_name
    )
}

/// One row of a prearchive listing, with the columns XNAT sends.
pub fn entry_row(e: &PrearchiveEntry) -> Row {
    row([
        ("project", e.project.clone()),
        ("timestamp", e.timestamp.clone()),
        ("lastmod", e.lastmod.clone()),
        ("uploaded", e.uploaded.clone()),
        ("scan_date", e.scan_date.clone()),
        ("scan_time", e.scan_time.clone()),
        ("subject", e.subject.clone()),
        ("folderName", e.folder_name.clone()),
        ("name", e.name.clone()),
        ("tag", e.tag.clone()),
        ("status", e.status.clone()),
        ("url", entry_url(e)),
        ("autoarchive", String::new()),
        ("prevent_anon", "false".to_string()),
        ("prevent_auto_commit", "false".to_string()),
        ("SOURCE", e.source.clone()),
        ("VISIT", String::new()),
        ("PROTOCOL", String::new()),
        ("TIMEZONE", String::new()),
    ])
}

fn visible(st: &SimState, caller: &Caller, project: &str) -> bool {
    caller.admin
        || st
            .projects
            .get(project)
            .is_some_and(|p| access::can_read(caller, p))
}

pub(super) fn editable(st: &SimState, caller: &Caller, project: &str) -> bool {
    caller.admin
        || st
            .projects
            .get(project)
            .is_some_and(|p| access::can_edit(caller, p))
}

async fn list_all(State(app): State<AppState>, caller: Caller, params: Params) -> Response {
    let st = app.read();
    let tag = params.get("tag");
    let rows = st
        .prearchive
        .iter()
        .filter(|e| visible(&st, &caller, &e.project))
        .filter(|e| tag.is_none_or(|t| t == e.tag))
        .map(entry_row)
        .collect();
    ResultSet::new(rows).respond(params.format().as_deref())
}

async fn list_project(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    params: Params,
) -> Response {
    let st = app.read();
    if project != "Unassigned" && !st.projects.contains_key(&project) {
        return restlet_error(
            StatusCode::NOT_FOUND,
            &format!("Unable to identify project: {project}"),
        );
    }
    if !visible(&st, &caller, &project) {
        return restlet_error(StatusCode::FORBIDDEN, "");
    }
    let rows = st
        .prearchive
        .iter()
        .filter(|e| e.project == project)
        .map(entry_row)
        .collect();
    ResultSet::new(rows).respond(params.format().as_deref())
}

pub(super) fn find(st: &SimState, project: &str, ts: &str, folder: &str) -> Option<usize> {
    st.prearchive
        .iter()
        .position(|e| e.project == project && e.timestamp == ts && e.folder_name == folder)
}

fn session_missing() -> Response {
    restlet_error(
        StatusCode::NOT_FOUND,
        "Unable to find the specified prearchive session.",
    )
}

/// Resolve the URL's session, checking read (or edit) rights.
pub(super) fn locate(
    st: &SimState,
    caller: &Caller,
    (project, ts, folder): &(String, String, String),
    edit: bool,
) -> Result<usize, Response> {
    let i = find(st, project, ts, folder).ok_or_else(session_missing)?;
    let ok = if edit {
        editable(st, caller, project)
    } else {
        visible(st, caller, project)
    };
    if !ok {
        return Err(restlet_error(StatusCode::FORBIDDEN, ""));
    }
    Ok(i)
}

#[cfg(test)]
mod tests;
