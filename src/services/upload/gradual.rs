//! Gradual-DICOM uploads: one POST per file on a bounded pool.
//!
//! A short sequential warm-up comes first: when every warm-up file fails with the same error
//! (wrong project, unknown subject...) the rest would fail the same way, so the run stops there
//! instead of sending thousands of doomed requests. Failures of the main pass get one more pass
//! at lower concurrency, which is what usually clears "server busy" errors.

use std::path::{Path, PathBuf};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::ladder::{post_import, ImportBody};
use super::{import_params, member_name, Handler, ImportSettings};
use crate::core::client::XnatClient;
use crate::core::Error;

const WARMUP: usize = 5;

/// What a gradual upload did.
#[derive(Debug, Clone, Default)]
pub struct GradualReport {
    /// Files considered.
    pub total: usize,
    /// Files the server accepted.
    pub succeeded: usize,
    /// Bytes of the accepted files.
    pub bytes: u64,
    /// `(relative path, error)` of the files that failed, sorted by path.
    pub failed: Vec<(String, String)>,
    /// Set when the warm-up showed every file would fail.
    pub aborted: Option<String>,
    /// True when Ctrl-C stopped the run.
    pub cancelled: bool,
}

struct One {
    path: PathBuf,
    size: u64,
    result: Result<(), Error>,
}

async fn send_one(
    client: &XnatClient,
    params: &[(String, String)],
    settings: &ImportSettings,
    path: PathBuf,
    cancel: &CancellationToken,
) -> One {
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let body = ImportBody::new(&path, "application/dicom");
    let result = post_import(client, params, &body, &settings.target, cancel)
        .await
        .map(|_| ());
    One { path, size, result }
}

async fn pass(
    client: &XnatClient,
    params: &[(String, String)],
    settings: &ImportSettings,
    files: Vec<PathBuf>,
    workers: usize,
    cancel: &CancellationToken,
) -> Vec<One> {
    futures::stream::iter(files)
        .map(|p| send_one(client, params, settings, p, cancel))
        .buffer_unordered(workers.max(1))
        .collect()
        .await
}

/// Upload `files` (below `root`) one request each, `workers` at a time.
pub async fn upload_gradual(
    client: &XnatClient,
    settings: &ImportSettings,
    root: &Path,
    files: Vec<PathBuf>,
    workers: usize,
    cancel: &CancellationToken,
) -> GradualReport {
    let params = import_params(settings, Handler::Gradual);
    let mut report = GradualReport {
        total: files.len(),
        ..GradualReport::default()
    };
    let mut failed: Vec<One> = Vec::new();
    let tally = |done: Vec<One>, report: &mut GradualReport, failed: &mut Vec<One>| {
        for one in done {
            match &one.result {
                Ok(()) => {
                    report.succeeded += 1;
                    report.bytes += one.size;
                }
                Err(Error::Cancelled) => report.cancelled = true,
                Err(_) => failed.push(one),
            }
        }
    };

    let warm = files.len().min(WARMUP);
    let mut rest = files;
    let main: Vec<PathBuf> = rest.split_off(warm);
    let mut warm_done = Vec::new();
    for p in rest {
        warm_done.push(send_one(client, &params, settings, p, cancel).await);
    }
    let first_errors: Vec<String> = warm_done
        .iter()
        .filter_map(|o| o.result.as_ref().err())
        .filter(|e| !matches!(e, Error::Cancelled))
        .map(|e| crate::core::error::snippet(&e.to_string(), 200))
        .collect();
    let all_same = warm > 0
        && first_errors.len() == warm
        && first_errors.iter().all(|e| *e == first_errors[0]);
    tally(warm_done, &mut report, &mut failed);
    if all_same && !main.is_empty() {
        report.aborted = Some(format!(
            "the server rejected all {warm} warm-up files with the same error, so the remaining {} would fail the same way: {}. Check the project, subject and session labels before retrying.",
            main.len(),
            first_errors[0]
        ));
    } else if !report.cancelled {
        let done = pass(client, &params, settings, main, workers, cancel).await;
        tally(done, &mut report, &mut failed);
        if !failed.is_empty() && !report.cancelled {
            let retry: Vec<PathBuf> = std::mem::take(&mut failed)
                .into_iter()
                .map(|o| o.path)
                .collect();
            let slower = workers.clamp(1, 4);
            let done = pass(client, &params, settings, retry, slower, cancel).await;
            tally(done, &mut report, &mut failed);
        }
    }
    report.failed = failed
        .into_iter()
        .map(|o| {
            let err = o.result.err().map(|e| e.to_string()).unwrap_or_default();
            (member_name(root, &o.path), err)
        })
        .collect();
    report.failed.sort();
    report
}
