//! Uploads into resources (fidelity spec §9): the PUT/POST handler, split by concern into
//! receiving the body, unpacking archives, and committing files into a resource.

mod commit;
mod extract;
mod receive;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::envelope::{ok_empty, restlet_error};
use crate::params::{Caller, Params};
use crate::AppState;

use super::resolve::{can_edit, Resolved};

pub use commit::*;
pub use extract::*;
pub use receive::*;

pub(super) async fn upload(
    app: &AppState,
    caller: &Caller,
    r: &Resolved,
    label: &str,
    rel: Option<String>,
    params: &Params,
    req: Request,
) -> Response {
    let data_dir = {
        let st = app.read();
        if !can_edit(&st, caller, &r.project) {
            return restlet_error(StatusCode::FORBIDDEN, "");
        }
        st.data_dir.clone()
    };
    let rel = match rel.as_deref().map(safe_rel) {
        Some(None) => return restlet_error(StatusCode::BAD_REQUEST, "Invalid file path."),
        Some(Some(r)) => Some(r),
        None => None,
    };
    let received = match receive_files(&data_dir, req, rel.as_deref()).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let mut incoming = Vec::new();
    for (name, tmp, size, digest) in received {
        let Some(name) = safe_rel(&name) else {
            let _ = std::fs::remove_file(&tmp);
            continue;
        };
        if params.flag("extract") && is_archive_name(&name) {
            let dir = match name.rsplit_once('/') {
                Some((d, _)) => d.to_string(),
                None => String::new(),
            };
            let dd = data_dir.clone();
            let t = tmp.clone();
            let extracted =
                tokio::task::spawn_blocking(move || extract_archive(&dd, &t, &dir)).await;
            let _ = std::fs::remove_file(&tmp);
            match extracted {
                Ok(Ok(files)) => incoming.extend(files),
                Ok(Err(e)) => {
                    return restlet_error(
                        StatusCode::BAD_REQUEST,
                        &format!("Unable to extract archive: {e}"),
                    )
                }
                Err(e) => return restlet_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
        } else {
            incoming.push(Incoming {
                rel: name,
                tmp,
                size,
                digest,
            });
        }
    }
    let overwrite = params.flag("overwrite");
    let dups = {
        let mut st = app.write();
        match commit_files(
            &mut st,
            &r.scopes[0].target,
            label,
            params,
            incoming,
            overwrite,
        ) {
            Ok(d) => d,
            Err(resp) => return resp,
        }
    };
    if dups.is_empty() {
        ok_empty()
    } else {
        // XNAT answers a duplicate upload with 200 and a JSON list of the names it kept
        // (FileList#handlePost), served as text/html; the stored files are not replaced.
        let body = serde_json::json!({ "duplicates": dups }).to_string();
        (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "text/html")],
            body,
        )
            .into_response()
    }
}

pub(super) fn is_archive_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with(".zip") || n.ends_with(".tar.gz") || n.ends_with(".tgz") || n.ends_with(".tar")
}
