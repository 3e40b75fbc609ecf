//! Resources and files at project, subject, experiment and scan level (fidelity spec §9):
//! resource listings, create/delete, file listings, single-file download, uploads (raw, multipart,
//! `extract=true`), streamed zip/tar archives, and the catalog refresh service.
//!
//! Every parent shape is routed to one dispatcher that parses the path itself: the same eight
//! operations exist under nine parent URL forms, and one parser is easier to keep faithful than
//! forty-five extractor signatures. Uploads stream to a temporary file under the data directory
//! while the MD5 is computed, then are renamed into place; no body is held in memory.

mod catalog;
mod download;
mod resolve;
mod resources;
mod upload;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{any, post};
use axum::Router;

use crate::envelope::restlet_error;
use crate::params::{Caller, Params};
use crate::AppState;

use catalog::{catalog, refresh_catalog};
use download::download;
use resources::{create_resource, delete_files, delete_resource, files_get, list_resources};
use upload::upload;

pub use download::archive_entries;
pub use resolve::*;
pub use resources::content_type_for;
pub use upload::*;

const PARENTS: &[&str] = &[
    "/data/projects/{project}",
    "/data/projects/{project}/subjects/{subject}",
    "/data/subjects/{subject}",
    "/data/experiments/{experiment}",
    "/data/projects/{project}/experiments/{experiment}",
    "/data/projects/{project}/subjects/{subject}/experiments/{experiment}",
    "/data/experiments/{experiment}/scans/{scan}",
    "/data/projects/{project}/experiments/{experiment}/scans/{scan}",
    "/data/projects/{project}/subjects/{subject}/experiments/{experiment}/scans/{scan}",
];

const SUFFIXES: &[&str] = &[
    "/resources",
    "/resources/{resource}",
    "/resources/{resource}/files",
    "/resources/{resource}/files/{*path}",
    "/files",
];

/// Every resource and file route, plus the catalog refresh service.
pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    for p in PARENTS {
        for s in SUFFIXES {
            r = r.route(&format!("{p}{s}"), any(entry));
        }
    }
    r.route("/data/services/refresh/catalog", post(refresh_catalog))
        .layer(DefaultBodyLimit::disable())
}

async fn entry(State(app): State<AppState>, caller: Caller, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let params = Params::parse(req.uri().query());
    let Some((parent, tail)) = parse_path(&path) else {
        return restlet_error(StatusCode::NOT_FOUND, "");
    };
    let resolved = {
        let st = app.read();
        match resolve(&st, &caller, &parent) {
            Ok(r) => r,
            Err(resp) => return resp,
        }
    };
    let method = req.method().clone();
    match (method, tail) {
        (Method::GET, Tail::Resources) => list_resources(&app, &resolved, &params),
        (Method::GET, Tail::Resource(r)) => catalog(&app, &resolved, &r),
        (Method::PUT | Method::POST, Tail::Resource(r)) => {
            create_resource(&app, &caller, &resolved, &r, &params)
        }
        (Method::DELETE, Tail::Resource(r)) => delete_resource(&app, &caller, &resolved, &r),
        (Method::GET, Tail::ResourceFiles(r)) => files_get(&app, &resolved, Some(&r), &params),
        (Method::GET, Tail::Files) => files_get(&app, &resolved, None, &params),
        (Method::GET, Tail::ResourceFile(r, rel)) => download(&app, &resolved, &r, &rel, &params),
        (Method::PUT | Method::POST, Tail::ResourceFiles(r)) => {
            upload(&app, &caller, &resolved, &r, None, &params, req).await
        }
        (Method::PUT | Method::POST, Tail::ResourceFile(r, rel)) => {
            upload(&app, &caller, &resolved, &r, Some(rel), &params, req).await
        }
        (Method::DELETE, Tail::ResourceFile(r, rel)) => {
            delete_files(&app, &caller, &resolved, &r, &rel)
        }
        _ => restlet_error(StatusCode::METHOD_NOT_ALLOWED, ""),
    }
}

#[cfg(test)]
mod http_tests;
#[cfg(test)]
mod tests;
