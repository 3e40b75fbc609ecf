//! One prearchive session by URL: its detail (row or zip), scans, delete, and the `action=`
//! posts (rebuild, move, commit).

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::{archive_session, editable, entry_row, entry_url, find, locate, ArchiveTarget};
use crate::archive::{self, ArchiveEntry, ArchiveFormat};
use crate::envelope::{ok_empty, restlet_error, row, with_type, ResultSet};
use crate::params::{Caller, Params};
use crate::state::{FileData, PrearchiveEntry, State as SimState};
use crate::AppState;

pub(super) async fn detail(
    State(app): State<AppState>,
    caller: Caller,
    Path(key): Path<(String, String, String)>,
    params: Params,
) -> Response {
    let entry = {
        let st = app.read();
        match locate(&st, &caller, &key, false) {
            Ok(i) => st.prearchive[i].clone(),
            Err(r) => return r,
        }
    };
    match params.format().as_deref() {
        Some("zip") => {
            let folder = entry.folder_name.clone();
            let entries: Vec<ArchiveEntry> = entry
                .scans
                .iter()
                .flat_map(|s| {
                    let folder = folder.clone();
                    s.files.iter().map(move |(name, f)| ArchiveEntry {
                        name: format!("{}/SCANS/{}/DICOM/{}", folder, s.id, name),
                        size: f.size,
                        data: f.data.clone(),
                    })
                })
                .collect();
            match archive::stream(entries, ArchiveFormat::Zip) {
                Ok((stream, len)) => {
                    let mut resp = Body::from_stream(stream).into_response();
                    let h = resp.headers_mut();
                    h.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/zip"),
                    );
                    if let Ok(v) = HeaderValue::from_str(&format!(
                        "attachment; filename=\"{}.zip\";",
                        entry.folder_name
                    )) {
                        h.insert(header::CONTENT_DISPOSITION, v);
                    }
                    if let Some(n) = len {
                        h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
                    }
                    resp
                }
                Err(_) => restlet_error(StatusCode::INTERNAL_SERVER_ERROR, ""),
            }
        }
        Some("xml") => restlet_error(
            StatusCode::NOT_FOUND,
            "The requested session document is not available.",
        ),
        f => ResultSet::new(vec![entry_row(&entry)]).respond(f),
    }
}

pub(super) async fn scans(
    State(app): State<AppState>,
    caller: Caller,
    Path(key): Path<(String, String, String)>,
    params: Params,
) -> Response {
    let st = app.read();
    let i = match locate(&st, &caller, &key, false) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let rows = st.prearchive[i]
        .scans
        .iter()
        .map(|s| {
            row([
                ("ID", s.id.clone()),
                ("series_description", s.series_description.clone()),
                ("type", s.scan_type.clone()),
                ("file_count", s.files.len().to_string()),
            ])
        })
        .collect();
    ResultSet::new(rows).respond(params.format().as_deref())
}

/// Stored files of an entry that live on disk (removed with the entry).
pub(super) fn disk_files(e: &PrearchiveEntry) -> Vec<std::path::PathBuf> {
    e.scans
        .iter()
        .flat_map(|s| s.files.values())
        .filter_map(|f| match &f.data {
            FileData::Disk(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

pub(super) async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(key): Path<(String, String, String)>,
) -> Response {
    let removed = {
        let mut st = app.write();
        match locate(&st, &caller, &key, true) {
            Ok(i) => st.prearchive.remove(i),
            Err(r) => return r,
        }
    };
    crate::routes::remove_paths(&disk_files(&removed));
    ok_empty()
}

/// A `text/uri-list` body, one URI per CRLF-terminated line.
pub(super) fn uri_list(uris: &[String]) -> Response {
    let body: String = uris.iter().map(|u| format!("{u}\r\n")).collect();
    with_type(StatusCode::OK, "text/uri-list", body)
}

/// Move entry `i` to `project`; returns the new `/data/prearchive/...` URI.
pub(super) fn move_entry(st: &mut SimState, i: usize, project: &str) -> Result<String, Response> {
    if !st.projects.contains_key(project) {
        return Err(restlet_error(
            StatusCode::NOT_FOUND,
            &format!("Unable to identify project: {project}"),
        ));
    }
    let (ts, folder) = (
        st.prearchive[i].timestamp.clone(),
        st.prearchive[i].folder_name.clone(),
    );
    if find(st, project, &ts, &folder).is_some() {
        return Err(restlet_error(
            StatusCode::CONFLICT,
            "A session with the same name already exists in the destination project.",
        ));
    }
    let e = &mut st.prearchive[i];
    e.project = project.to_string();
    e.lastmod = crate::state::now_timestamp();
    Ok(format!("/data{}", entry_url(e)))
}

pub(super) async fn action(
    State(app): State<AppState>,
    caller: Caller,
    Path(key): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let mut params = Params::parse(uri.query());
    params.merge_form(&headers, &body);
    let mut st = app.write();
    let i = match locate(&st, &caller, &key, true) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match params.get("action").unwrap_or("") {
        "build" | "rebuild" | "reset-status" | "set-status" => {
            let e = &mut st.prearchive[i];
            e.status = "READY".into();
            e.lastmod = crate::state::now_timestamp();
            ok_empty()
        }
        "move" => {
            let Some(dest) = params.get("newProject").map(str::to_string) else {
                return restlet_error(StatusCode::BAD_REQUEST, "Missing newProject.");
            };
            if !editable(&st, &caller, &dest) {
                return restlet_error(StatusCode::FORBIDDEN, "");
            }
            match move_entry(&mut st, i, &dest) {
                Ok(u) => {
                    let mut r = uri_list(&[u]);
                    *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
                    r
                }
                Err(r) => r,
            }
        }
        "commit" => {
            let overwrite = params.get("overwrite").unwrap_or("none").to_string();
            match archive_session(&mut st, &caller, i, &ArchiveTarget::default(), &overwrite) {
                Ok(u) => {
                    let mut r = uri_list(&[u]);
                    *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
                    r
                }
                Err(r) => r,
            }
        }
        other => restlet_error(
            StatusCode::BAD_REQUEST,
            &format!("Unsupported action: {other}"),
        ),
    }
}
