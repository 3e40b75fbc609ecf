//! `session upload` as a service: the local checks (nothing reaches the network before them),
//! the dry-run preview, and the run — one archive file, a directory in parallel tar/zip batches,
//! or file by file through gradual-DICOM — ending in one [`TransferSummary`] and, for a
//! directory sent into the archive, a count of what the archived session holds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::check::{self, DicomDirCheck};
use super::{
    find_dicom_files, plan_batches, summary, upload_archive_file, upload_directory, upload_gradual,
    ArchiveFormat, BatchOutcome, BatchPlan, FileSet, GradualReport, ImportSettings, Overwrite,
    Routing,
};
use crate::core::client::XnatClient;
use crate::core::output::Item;
use crate::core::progress::Progress;
use crate::core::{Error, Result};
use crate::services::transfer::{TransferItem, TransferSummary};

/// How a directory is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// Batches as uncompressed tar archives.
    Tar,
    /// Batches as zip archives.
    Zip,
    /// One request per DICOM file (gradual-DICOM).
    Gradual,
}

impl Sending {
    fn name(self) -> &'static str {
        match self {
            Sending::Tar => "tar",
            Sending::Zip => "zip",
            Sending::Gradual => "gradual",
        }
    }
}

/// One `session upload`, settled from flags and profile.
#[derive(Debug, Clone)]
pub struct SessionUpload {
    /// An archive file or a directory of DICOM files.
    pub input: PathBuf,
    /// Destination, overwrite mode and routing.
    pub settings: ImportSettings,
    /// How a directory is sent.
    pub sending: Sending,
    /// Requests at once.
    pub workers: usize,
    /// Count the archived session's files afterwards.
    pub check: bool,
}

/// What the local checks found: the files of a directory, what their headers say, and the
/// batches they go in.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// The DICOM files of a directory input (`None` for an archive file).
    pub files: Option<FileSet>,
    /// The studies and instances of those files.
    pub precheck: Option<DicomDirCheck>,
    /// The batches of a tar/zip directory upload.
    pub plan: BatchPlan,
}

/// Local checks: a directory must hold DICOM files, gradual-DICOM needs a directory, and the
/// headers are read so that several studies or repeated instances are known before sending.
pub fn prepare(req: &SessionUpload) -> Result<Prepared> {
    let files = if req.input.is_dir() {
        let set = find_dicom_files(&req.input)?;
        if set.files.is_empty() {
            return Err(Error::Upload(format!(
                "no DICOM files found in {} (looked for .dcm/.ima/.img/.dicom files and files with a DICM header)",
                req.input.display()
            )));
        }
        Some(set)
    } else if req.sending == Sending::Gradual {
        return Err(Error::Upload(
            "gradual-DICOM needs a directory of DICOM files".into(),
        ));
    } else {
        None
    };
    // XNAT's import refuses several studies in one upload (and strands them in the
    // prearchive) and keeps one file per SOP Instance UID: say so before sending anything.
    let precheck = files
        .as_ref()
        .map(|set| check::inspect_dicom_dir(&req.input, &set.files));
    let plan = match (&files, req.sending) {
        (Some(set), Sending::Tar | Sending::Zip) => {
            plan_batches(&set.files, req.workers, req.settings.overwrite)
        }
        _ => BatchPlan::default(),
    };
    Ok(Prepared {
        files,
        precheck,
        plan,
    })
}

impl Prepared {
    /// Problems worth stopping for, one line each.
    pub fn problems(&self) -> Vec<String> {
        self.precheck
            .as_ref()
            .map(DicomDirCheck::problems)
            .unwrap_or_default()
    }

    /// Refuse to send when there are problems, unless `anyway` (`--yes`, or a dry run).
    pub fn refuse_unless(&self, anyway: bool, input: &Path) -> Result<()> {
        let n = self.problems().len();
        if n > 0 && !anyway {
            return Err(Error::Upload(format!(
                "{} refused before sending anything ({n}); pass --yes to upload anyway",
                input.display()
            )));
        }
        Ok(())
    }

    /// Bytes a batched directory upload sends (what a progress bar counts to).
    pub fn batched_bytes(&self) -> Option<u64> {
        match (&self.files, self.plan.batches.is_empty()) {
            (Some(set), false) => Some(set.bytes),
            _ => None,
        }
    }
}

/// File counts of a directory input in a [`Preview`].
#[derive(Debug, Clone, Serialize)]
pub struct PreviewFiles {
    /// DICOM files found.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// Batches of a tar/zip directory upload in a [`Preview`].
#[derive(Debug, Clone, Serialize)]
pub struct PreviewBatches {
    /// Number of batches.
    pub batches: usize,
    /// Files in each batch.
    pub files_per_batch: Vec<usize>,
    /// True when the first batch is a one-file leader sent alone first.
    pub leader_batch: bool,
}

/// What `session upload --dry-run` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// Always `upload`.
    pub operation: &'static str,
    /// Always true.
    pub dry_run: bool,
    /// The input path as given.
    pub source: String,
    /// Project.
    pub project: String,
    /// Subject label.
    pub subject: String,
    /// Session label.
    pub session_id: String,
    /// `tar`, `zip` or `gradual`.
    pub mode: &'static str,
    /// Requests at once.
    pub workers: usize,
    /// The overwrite mode (not used by gradual-DICOM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overwrite: Option<&'static str>,
    /// Straight into the archive (else the prearchive).
    pub direct_archive: bool,
    /// Files of a directory input.
    #[serde(flatten)]
    pub files: Option<PreviewFiles>,
    /// Batches of a tar/zip directory upload.
    #[serde(flatten)]
    pub batches: Option<PreviewBatches>,
}

impl Item for Preview {
    const ID: &'static str = "session_id";
}

/// The dry-run preview of `req`.
pub fn preview(req: &SessionUpload, prepared: &Prepared) -> Preview {
    let t = &req.settings.target;
    let plan = &prepared.plan;
    Preview {
        operation: "upload",
        dry_run: true,
        source: req.input.display().to_string(),
        project: t.project.clone(),
        subject: t.subject.clone(),
        session_id: t.session.clone(),
        mode: req.sending.name(),
        workers: req.workers,
        overwrite: (req.sending != Sending::Gradual).then(|| req.settings.overwrite.as_str()),
        direct_archive: req.settings.routing == Routing::DirectArchive,
        files: prepared.files.as_ref().map(|set| PreviewFiles {
            files: set.files.len(),
            bytes: set.bytes,
        }),
        batches: (!plan.batches.is_empty()).then(|| PreviewBatches {
            batches: plan.batches.len(),
            files_per_batch: plan.batches.iter().map(Vec::len).collect(),
            leader_batch: plan.leader,
        }),
    }
}

/// The end of a run: the summary to print, warnings for stderr, and the run's result (the
/// closing line on success).
#[derive(Debug)]
pub struct Outcome {
    /// The transfer summary.
    pub summary: TransferSummary,
    /// Lines about failed items (at most five), printed after the summary.
    pub warnings: Vec<String>,
    /// The closing line, or why the run failed.
    pub result: Result<String>,
}

/// Send `req`. Errors before anything is sent (the direct-archive version check, a batch
/// directory that cannot be created) are `Err`; everything after ends in an [`Outcome`].
pub async fn run(
    client: &XnatClient,
    req: &SessionUpload,
    prepared: Prepared,
    progress: Arc<dyn Progress>,
    cancel: &CancellationToken,
) -> Result<Outcome> {
    if req.settings.routing == Routing::DirectArchive {
        super::check_direct_archive(client).await?;
    }
    let started = Instant::now();
    let source = req.input.display().to_string();
    let target = Some(&req.settings.target);
    let Some(set) = prepared.files else {
        let name = req
            .input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| source.clone());
        let size = std::fs::metadata(&req.input).map(|m| m.len()).unwrap_or(0);
        let r = upload_archive_file(client, &req.settings, &req.input, cancel).await;
        let (item, files, bytes) = match &r {
            Ok(_) => (
                TransferItem::success(&name).with_counts(1, 1, size),
                Some(1),
                Some(size),
            ),
            Err(Error::Cancelled) => (TransferItem::failed(&name, "cancelled"), None, None),
            Err(e) => (TransferItem::failed(&name, e.to_string()), None, None),
        };
        return Ok(Outcome {
            summary: summary(&source, target, vec![item], files, bytes, started.elapsed()),
            warnings: Vec::new(),
            result: r.map(|_| format!("Uploaded {name}")),
        });
    };
    let mut outcome = if req.sending == Sending::Gradual {
        let r = upload_gradual(
            client,
            &req.settings,
            &req.input,
            set.files,
            req.workers,
            cancel,
        )
        .await;
        gradual_outcome(r, &source, target, started)
    } else {
        let format = if req.sending == Sending::Zip {
            ArchiveFormat::Zip
        } else {
            ArchiveFormat::Tar
        };
        let outcomes = upload_directory(
            client,
            &req.settings,
            &req.input,
            prepared.plan,
            format,
            req.workers,
            progress,
            cancel,
        )
        .await?;
        batches_outcome(&outcomes, &source, target, started, cancel.is_cancelled())
    };
    if outcome.result.is_ok() {
        if let Err(e) = check_archived(client, req, prepared.precheck.as_ref()).await {
            outcome.result = Err(e);
        }
    }
    Ok(outcome)
}

fn gradual_outcome(
    r: GradualReport,
    source: &str,
    target: Option<&super::Target>,
    started: Instant,
) -> Outcome {
    let id = "gradual-dicom";
    let error = r
        .aborted
        .clone()
        .or_else(|| r.failed.first().map(|(p, e)| format!("{p}: {e}")));
    let item = match error {
        _ if r.cancelled => TransferItem::failed(id, "cancelled"),
        Some(e) => TransferItem::failed(id, e),
        None => TransferItem::success(id).with_counts(r.succeeded, r.succeeded, r.bytes),
    };
    let items = vec![item];
    let summary = summary(
        source,
        target,
        items,
        Some(r.succeeded),
        Some(r.bytes),
        started.elapsed(),
    );
    let warnings = r
        .failed
        .iter()
        .take(5)
        .map(|(p, e)| format!("{p}: {e}"))
        .collect();
    let result = if r.cancelled {
        Err(Error::Cancelled)
    } else if let Some(msg) = r.aborted {
        Err(Error::Upload(msg))
    } else if !r.failed.is_empty() {
        Err(Error::Batch {
            failed: r.failed.len(),
            total: r.total,
        })
    } else {
        Ok(format!("Uploaded {} files via gradual-DICOM", r.succeeded))
    };
    Outcome {
        summary,
        warnings,
        result,
    }
}

fn batches_outcome(
    outcomes: &[BatchOutcome],
    source: &str,
    target: Option<&super::Target>,
    started: Instant,
    cancelled: bool,
) -> Outcome {
    let (mut files, mut bytes) = (0, 0);
    let mut items = Vec::new();
    for o in outcomes {
        let id = format!("batch-{}", o.number);
        items.push(match &o.error {
            _ if o.cancelled => TransferItem::failed(id, "cancelled"),
            Some(e) => TransferItem::failed(id, e.clone()),
            None => {
                files += o.files;
                bytes += o.bytes;
                TransferItem::success(id).with_counts(o.files, o.files, o.bytes)
            }
        });
    }
    let summary = summary(
        source,
        target,
        items,
        Some(files),
        Some(bytes),
        started.elapsed(),
    );
    let failed: Vec<&BatchOutcome> = outcomes.iter().filter(|o| o.error.is_some()).collect();
    let warnings = failed
        .iter()
        .filter(|o| !o.cancelled)
        .take(5)
        .map(|o| {
            format!(
                "batch {} ({} files): {}",
                o.number,
                o.files,
                o.error.as_deref().unwrap_or("")
            )
        })
        .collect();
    let result = if cancelled {
        Err(Error::Cancelled)
    } else if !failed.is_empty() {
        Err(Error::Batch {
            failed: failed.len(),
            total: outcomes.len(),
        })
    } else {
        Ok(format!(
            "Uploaded {files} files ({:.1} MB) in {:.1}s",
            bytes as f64 / 1_000_000.0,
            started.elapsed().as_secs_f64()
        ))
    };
    Outcome {
        summary,
        warnings,
        result,
    }
}

/// After a directory went into the archive: the session must hold every distinct instance
/// sent (`--no-check` skips this; prearchive uploads are not archived yet).
async fn check_archived(
    client: &XnatClient,
    req: &SessionUpload,
    precheck: Option<&DicomDirCheck>,
) -> Result<()> {
    let Some(pre) = precheck else { return Ok(()) };
    let settings = &req.settings;
    if !req.check || settings.routing != Routing::DirectArchive || pre.instances == 0 {
        return Ok(());
    }
    let t = &settings.target;
    let on_server = check::archived_dicom_files(client, &t.project, &t.session).await?;
    let replaced = settings.overwrite == Overwrite::Delete;
    match check::instances_problem(pre.instances, on_server, replaced) {
        Some(p) => Err(Error::Upload(p)),
        None => {
            tracing::info!(on_server, sent = pre.instances, "archived session checked");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Target;
    use super::*;
    use crate::services::transfer::{ItemStatus, RunStatus};

    fn request(input: &Path, sending: Sending) -> SessionUpload {
        SessionUpload {
            input: input.to_path_buf(),
            settings: ImportSettings {
                target: Target::new("P1", "S1", "E1").unwrap(),
                overwrite: Overwrite::Delete,
                routing: Routing::DirectArchive,
                ignore_unparsable: true,
            },
            sending,
            workers: 2,
            check: true,
        }
    }

    #[test]
    fn an_empty_directory_is_refused_before_any_request() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not dicom").unwrap();
        let err = prepare(&request(dir.path(), Sending::Tar)).unwrap_err();
        assert!(err.to_string().contains("no DICOM files found"), "{err}");
    }

    #[test]
    fn gradual_dicom_needs_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("a.zip");
        std::fs::write(&zip, "PK").unwrap();
        let err = prepare(&request(&zip, Sending::Gradual)).unwrap_err();
        assert!(err.to_string().contains("needs a directory"), "{err}");
        let p = prepare(&request(&zip, Sending::Zip)).unwrap();
        assert!(p.files.is_none() && p.plan.batches.is_empty());
        assert_eq!(p.batched_bytes(), None);
    }

    #[test]
    fn the_preview_of_an_archive_file_has_no_file_or_batch_keys() {
        let req = request(Path::new("a.zip"), Sending::Tar);
        let v = serde_json::to_value(preview(&req, &Prepared::default())).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "operation",
                "dry_run",
                "source",
                "project",
                "subject",
                "session_id",
                "mode",
                "workers",
                "overwrite",
                "direct_archive"
            ]
        );
        let gradual = request(Path::new("d"), Sending::Gradual);
        let v = serde_json::to_value(preview(&gradual, &Prepared::default())).unwrap();
        assert!(v.get("overwrite").is_none());
    }

    fn batch(number: usize, error: Option<&str>, cancelled: bool) -> BatchOutcome {
        BatchOutcome {
            number,
            files: 2,
            bytes: 100,
            error: error.map(str::to_string),
            cancelled,
        }
    }

    #[test]
    fn a_failed_batch_makes_the_run_partial_and_counts_only_what_landed() {
        let outcomes = [batch(1, None, false), batch(2, Some("boom"), false)];
        let o = batches_outcome(&outcomes, "d", None, Instant::now(), false);
        assert_eq!(o.summary.status, RunStatus::Partial);
        assert_eq!((o.summary.files, o.summary.bytes), (Some(2), Some(100)));
        assert_eq!(o.warnings, ["batch 2 (2 files): boom"]);
        assert!(matches!(
            o.result,
            Err(Error::Batch {
                failed: 1,
                total: 2
            })
        ));
    }

    #[test]
    fn cancelled_batches_fail_with_the_error_cancelled_and_no_warning() {
        let outcomes = [batch(1, Some("cancelled"), true)];
        let o = batches_outcome(&outcomes, "d", None, Instant::now(), true);
        assert_eq!(o.summary.items[0].status, ItemStatus::Failed);
        assert_eq!(o.summary.items[0].error.as_deref(), Some("cancelled"));
        assert!(o.warnings.is_empty());
        assert!(matches!(o.result, Err(Error::Cancelled)));
    }

    #[test]
    fn a_gradual_run_with_failed_files_names_the_first_and_exits_as_a_batch() {
        let r = GradualReport {
            total: 3,
            succeeded: 2,
            bytes: 20,
            failed: vec![("a.dcm".into(), "bad".into())],
            ..GradualReport::default()
        };
        let o = gradual_outcome(r, "d", None, Instant::now());
        assert_eq!(o.summary.items[0].error.as_deref(), Some("a.dcm: bad"));
        assert_eq!(o.summary.status, RunStatus::Failed);
        assert!(matches!(
            o.result,
            Err(Error::Batch {
                failed: 1,
                total: 3
            })
        ));
    }
}
