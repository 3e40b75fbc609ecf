//! Single-file downloads and streamed zip/tar archives of a selection.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::archive::{self, ArchiveEntry, ArchiveFormat};
use crate::envelope::restlet_error;
use crate::params::Params;
use crate::state::State as SimState;
use crate::AppState;

use super::resolve::{find_resource, resources, Resolved};
use super::resources::{base_name, content_type_for, selected};

/// Archive entry names for the selection, in the requested `structure`.
pub fn archive_entries(
    st: &SimState,
    r: &Resolved,
    key: Option<&str>,
    structure: Option<&str>,
) -> Vec<ArchiveEntry> {
    let mut out = Vec::new();
    for (scope, res) in selected(st, r, key) {
        for (rel, f) in &res.files {
            let name = match structure {
                Some("simplified") => format!("{}/{}/{}", scope.zip_dir_simple, res.label, rel),
                _ => format!("{}/resources/{}/files/{}", scope.zip_dir, res.label, rel),
            };
            out.push(ArchiveEntry {
                name,
                size: f.size,
                data: f.data.clone(),
            });
        }
    }
    out
}

pub(super) fn attachment(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("attachment; filename=\"{name}\";"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment;"))
}

pub(super) fn archive_response(
    app: &AppState,
    r: &Resolved,
    key: Option<&str>,
    params: &Params,
    format: ArchiveFormat,
) -> Response {
    let entries = {
        let st = app.read();
        archive_entries(&st, r, key, params.get("structure"))
    };
    if entries.is_empty() {
        if params.flag("accept-not-found") {
            return StatusCode::NO_CONTENT.into_response();
        }
        return restlet_error(StatusCode::NOT_FOUND, "");
    }
    let (stream, length) = match archive::stream(entries, format) {
        Ok(x) => x,
        Err(_) => {
            return restlet_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Archive too large for the simulator (zip64 is not implemented).",
            )
        }
    };
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        attachment(&format!("{}.{}", r.archive_name, format.extension())),
    );
    if let Some(n) = length {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    resp
}

pub(super) fn download(
    app: &AppState,
    r: &Resolved,
    key: &str,
    rel: &str,
    params: &Params,
) -> Response {
    let found = {
        let st = app.read();
        resources(&st, &r.scopes[0].target)
            .and_then(|l| find_resource(l, key))
            .and_then(|res| res.files.get(rel).cloned())
    };
    let Some(f) = found else {
        if params.flag("accept-not-found") {
            return StatusCode::NO_CONTENT.into_response();
        }
        return restlet_error(StatusCode::NOT_FOUND, "Unable to find file.");
    };
    let mut resp = Body::from_stream(archive::stream_file(f.data.clone(), f.size)).into_response();
    let h = resp.headers_mut();
    let ct = if f.content_type.is_empty() {
        content_type_for(rel)
    } else {
        &f.content_type
    };
    if let Ok(v) = HeaderValue::from_str(ct) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(f.size));
    if params.flag("attachment") {
        h.insert(header::CONTENT_DISPOSITION, attachment(base_name(rel)));
    }
    resp
}
