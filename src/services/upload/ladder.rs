//! The import request and its retry ladder.
//!
//! Transient statuses (429/503 for any method, and 500/502/504 and dropped connections, which are
//! safe to repeat for an import because of its overwrite semantics) are retried by the client's
//! one send path, which honours `Retry-After` and uses full-jitter backoff; the reference's upload
//! ladder used fixed 2,4,8,16,32 s delays and ignored `Retry-After`. On top of that this module
//! retries the HTTP 400s XNAT uses for "busy, try again" (session still being processed, duplicate
//! archive attempt, ...) and unknown 400s, but not the 400s that describe a permanent problem.
//! A 401 is handled by the client: one re-login shared by every parallel request (it re-checks
//! the token under a lock, so concurrent batches do not each log in).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::Method;
use tokio_util::sync::CancellationToken;

use super::Target;
use crate::core::client::{StreamSource, XnatClient};
use crate::core::retry::RetryPolicy;
use crate::core::{Error, Result};

/// Retries after the first attempt, at both levels (as the reference: 6 attempts).
pub const UPLOAD_RETRIES: u32 = 5;

const TRANSIENT: &[&str] = &[
    "session processing in progress",
    "concurrent modification is discouraged",
    "duplicate archive attempt",
    "destination session in use",
];

const PERMANENT: &[&str] = &[
    "unable to deduce session label",
    "unable to identify subject",
    "unable to identify destination project",
    "not allowed to create new subjects",
    "unable to create new subject id",
    "unable to create new session id",
    "session already exists, retry with overwrite enabled",
    "via archive process",
    "session already contains a scan",
    "already exists for another subject",
    "src uri is invalid",
    "expected a catalog file, however it was missing",
    "non-standard prearchive structure",
    "or non-parsable dicom) files",
    "is required when requesting",
    // Bodies that are not archives (or not DICOM) fail the same way every time.
    "unable to identify upload format",
    "unable to read the uploaded archive",
    "no dicom files found in the upload",
    "unable to parse an uploaded file as dicom",
];

/// Whether a 400 body means "try again later".
pub(crate) fn retryable_400(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    if TRANSIENT.iter().any(|m| lower.contains(m)) {
        return true;
    }
    !PERMANENT.iter().any(|m| lower.contains(m))
}

/// The body of one import request.
#[derive(Debug, Clone)]
pub struct ImportBody {
    /// File sent as the body (for a packed tar: the directory its member names are relative to).
    pub path: PathBuf,
    /// Its content type.
    pub content_type: &'static str,
    /// When set, the body is a tar of these files (below `path`) packed while it is sent, packed
    /// again for each attempt, instead of the file at `path`.
    pub tar_members: Option<Arc<Vec<PathBuf>>>,
    /// When set, the body is whatever this produces, called again for each attempt (an archive
    /// relayed from another server while it arrives); `path` is then unused.
    pub relay: Option<StreamSource>,
}

impl ImportBody {
    /// A body from `path`.
    pub fn new(path: &Path, content_type: &'static str) -> Self {
        ImportBody {
            path: path.to_path_buf(),
            content_type,
            tar_members: None,
            relay: None,
        }
    }

    /// A body produced afresh by `make` for every attempt, e.g. an archive streamed from
    /// another server: nothing is written to disk.
    pub fn relayed(
        make: impl Fn() -> reqwest::Body + Send + Sync + 'static,
        content_type: &'static str,
    ) -> Self {
        ImportBody {
            path: PathBuf::new(),
            content_type,
            tar_members: None,
            relay: Some(StreamSource(Arc::new(make))),
        }
    }

    /// A tar of `files` (member names relative to `root`) streamed as it is packed: no temporary
    /// archive is written or read back.
    pub fn tar(root: &Path, files: Vec<PathBuf>) -> Self {
        ImportBody {
            path: root.to_path_buf(),
            content_type: "application/x-tar",
            tar_members: Some(Arc::new(files)),
            relay: None,
        }
    }
}

/// POST one body to `/data/services/import`; returns the response text (the created URI).
///
/// `Error::Cancelled` when `cancel` fires, including during a retry wait.
pub async fn post_import(
    client: &XnatClient,
    params: &[(String, String)],
    body: &ImportBody,
    target: &Target,
    cancel: &CancellationToken,
) -> Result<String> {
    let policy = RetryPolicy::from_env(UPLOAD_RETRIES);
    let mut attempt: u32 = 0;
    loop {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let req = client
            .request(Method::POST, "/data/services/import")
            .query_pairs(params.iter().cloned());
        let req = match (&body.relay, &body.tar_members) {
            (Some(make), _) => {
                let make = make.clone();
                req.stream(move || (make.0)(), body.content_type)
            }
            (None, None) => req.file(&body.path, body.content_type),
            (None, Some(files)) => {
                let (root, files) = (body.path.clone(), files.clone());
                req.stream(
                    move || super::archive::tar_body(root.clone(), files.clone()),
                    body.content_type,
                )
            }
        };
        let req = req.max_retries(UPLOAD_RETRIES).retry_non_idempotent();
        let sent = tokio::select! {
            r = req.send() => r,
            _ = cancel.cancelled() => return Err(Error::Cancelled),
        };
        match sent {
            Ok(resp) => {
                let text = resp.text().await.map_err(|source| Error::Body {
                    context: "reading the import response".into(),
                    source,
                })?;
                return Ok(text.trim().to_string());
            }
            Err(Error::Http {
                status: 400, body, ..
            }) if attempt < UPLOAD_RETRIES && retryable_400(&body) => {
                let delay = policy.backoff(attempt);
                attempt += 1;
                tracing::warn!(
                    "HTTP 400 ({}) on import attempt {attempt}/{}, retrying in {:.1}s",
                    body,
                    UPLOAD_RETRIES + 1,
                    delay.as_secs_f64()
                );
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = cancel.cancelled() => return Err(Error::Cancelled),
                }
            }
            Err(e) => return Err(map_error(e, target)),
        }
    }
}

fn map_error(e: Error, target: &Target) -> Error {
    match e {
        Error::NotFound { .. } => Error::NotFound {
            kind: "import destination".into(),
            id: format!("{}/{}/{}", target.project, target.subject, target.session),
        },
        Error::PermissionDenied(_) => {
            Error::PermissionDenied(format!("upload to project {}", target.project))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_unknown_400s_are_retried_permanent_ones_are_not() {
        assert!(retryable_400("Session processing in progress for E1"));
        assert!(retryable_400("something odd"));
        assert!(!retryable_400("Unable to identify destination project: X"));
        assert!(!retryable_400(
            "Session already exists, retry with overwrite enabled"
        ));
    }
}
