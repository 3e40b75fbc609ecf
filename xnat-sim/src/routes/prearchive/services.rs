//! `POST /data/services/archive` and the batch services under `/data/services/prearchive/`, which
//! name their entries with repeatable `src=` parameters.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;

use super::session::{disk_files, move_entry, uri_list};
use super::{archive_session, editable, entry_row, locate, ArchiveTarget};
use crate::envelope::{restlet_error, ResultSet};
use crate::params::{Caller, Params};
use crate::AppState;

/// `src=/prearchive/projects/P/TS/FOLDER` (with or without `/data`) → `(P, TS, FOLDER)`.
pub fn parse_src(src: &str) -> Option<(String, String, String)> {
    let s = src.strip_prefix("/data").unwrap_or(src);
    let rest = s.strip_prefix("/prearchive/projects/")?;
    let mut it = rest.trim_end_matches('/').split('/');
    let (p, ts, f) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    Some((p.to_string(), ts.to_string(), f.to_string()))
}

fn all_src(params: &Params) -> Vec<String> {
    params
        .iter()
        .filter(|(k, _)| *k == "src")
        .map(|(_, v)| v.to_string())
        .collect()
}

pub(super) async fn archive_service(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let mut params = Params::parse(uri.query());
    params.merge_form(&headers, &body);
    let srcs = all_src(&params);
    if srcs.is_empty() {
        return restlet_error(StatusCode::BAD_REQUEST, "Missing src parameter.");
    }
    let mut target = match params.get("dest") {
        Some(d) => match ArchiveTarget::from_dest(d) {
            Some(t) => t,
            None => return restlet_error(StatusCode::BAD_REQUEST, &format!("Invalid dest: {d}")),
        },
        None => ArchiveTarget::default(),
    };
    for (key, slot) in [
        ("project", &mut target.project),
        ("subject", &mut target.subject),
        ("session", &mut target.session),
    ] {
        if let Some(v) = params.get(key) {
            *slot = Some(v.to_string());
        }
    }
    let overwrite = params.get("overwrite").unwrap_or("none").to_string();
    let mut st = app.write();
    let mut uris = Vec::new();
    for src in srcs {
        let Some(key) = parse_src(&src) else {
            return restlet_error(StatusCode::BAD_REQUEST, &format!("Invalid src: {src}"));
        };
        if key.0 == "Unassigned" {
            return restlet_error(
                StatusCode::BAD_REQUEST,
                "Cannot archive sessions from the Unassigned folder.",
            );
        }
        let i = match locate(&st, &caller, &key, true) {
            Ok(i) => i,
            Err(r) => return r,
        };
        match archive_session(&mut st, &caller, i, &target, &overwrite) {
            Ok(u) => uris.push(u),
            Err(r) => return r,
        }
    }
    if params.flag("redirect") {
        let mut r = uri_list(&uris);
        *r.status_mut() = StatusCode::SEE_OTHER;
        if let Some(v) = uris.first().and_then(|u| HeaderValue::from_str(u).ok()) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return r;
    }
    uri_list(&uris)
}

/// `POST /data/services/prearchive/{move,delete,rebuild}` with repeatable `src=`.
pub(super) async fn batch(
    State(app): State<AppState>,
    caller: Caller,
    Path(op): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let mut params = Params::parse(uri.query());
    params.merge_form(&headers, &body);
    let mut st = app.write();
    let mut rows = Vec::new();
    let mut removed = Vec::new();
    for src in all_src(&params) {
        let Some(key) = parse_src(&src) else {
            return restlet_error(StatusCode::BAD_REQUEST, &format!("Invalid src: {src}"));
        };
        let i = match locate(&st, &caller, &key, true) {
            Ok(i) => i,
            Err(r) => return r,
        };
        match op.as_str() {
            "move" => {
                let Some(dest) = params.get("newProject").map(str::to_string) else {
                    return restlet_error(StatusCode::BAD_REQUEST, "Missing newProject.");
                };
                if !editable(&st, &caller, &dest) {
                    return restlet_error(StatusCode::FORBIDDEN, "");
                }
                if let Err(r) = move_entry(&mut st, i, &dest) {
                    return r;
                }
                rows.push(entry_row(&st.prearchive[i]));
            }
            "delete" => {
                let e = st.prearchive.remove(i);
                rows.push(entry_row(&e));
                removed.push(e);
            }
            "rebuild" => {
                st.prearchive[i].status = "READY".into();
                rows.push(entry_row(&st.prearchive[i]));
            }
            _ => return restlet_error(StatusCode::NOT_FOUND, ""),
        }
    }
    drop(st);
    for e in &removed {
        crate::routes::remove_paths(&disk_files(e));
    }
    ResultSet::new(rows).respond(params.format().as_deref())
}
