//! What a download prints: the dry-run preview, the [`TransferSummary`] of a run, the lines
//! about failures and verification, the closing line, and the error a run ends with.

use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use super::{DownloadPlan, ExecReport, FileStatus, PlanRequest};
use crate::core::output::{Item, Report, Row};
use crate::core::{Error, Result};
use crate::services::transfer::{Operation, RunStatus, TransferItem, TransferSummary};
use crate::services::verify::Verification;

/// `n` bytes as megabytes with one decimal (`1.2 MB`).
pub fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// One planned file of a [`Preview`].
#[derive(Debug, Clone, Serialize)]
pub struct PreviewFile {
    /// Scan ID or `resource:<label>`.
    pub item: String,
    /// Path below the session folder.
    pub path: String,
    /// Size from the catalog.
    pub size: Option<u64>,
    /// MD5 from the catalog.
    pub digest: Option<String>,
}

impl Row for PreviewFile {
    const COLUMNS: &'static [(&'static str, &'static str)] =
        &[("item", "Item"), ("path", "Path"), ("size", "Size")];
    const ID: &'static str = "path";
}

/// What `--dry-run` prints: a JSON document, or one row per planned file.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// Always `download`.
    pub operation: &'static str,
    /// Always true.
    pub dry_run: bool,
    /// Accession ID.
    pub session_id: String,
    /// Primary project.
    pub project: Option<String>,
    /// Subject label.
    pub subject: Option<String>,
    /// The session folder.
    pub output_dir: String,
    /// Requests at once.
    pub workers: usize,
    /// `"all"` or the included labels.
    pub resources: Value,
    /// `include`, `exclude` or `all`.
    pub resource_filter_mode: &'static str,
    /// Labels left out.
    pub excluded_resources: Vec<String>,
    /// Whether the session's own resources are included.
    pub session_resources: bool,
    /// Planned items.
    pub items: Vec<String>,
    /// Distinct scans with files.
    pub scans: usize,
    /// Planned files.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// The files.
    pub plan: Vec<PreviewFile>,
}

impl Preview {
    /// The preview of `plan` made for `req` with `workers`.
    pub fn new(plan: &DownloadPlan, req: &PlanRequest, workers: usize) -> Self {
        let resources = if req.filter.include.is_empty() {
            json!("all")
        } else {
            json!(req.filter.include)
        };
        Preview {
            operation: "download",
            dry_run: true,
            session_id: plan.session.id.clone(),
            project: plan.session.project.clone(),
            subject: plan.session.subject.clone(),
            output_dir: plan.session_dir.display().to_string(),
            workers,
            resources,
            resource_filter_mode: req.filter.mode(),
            excluded_resources: req.filter.exclude.clone(),
            session_resources: req.session_resources,
            items: plan.items.clone(),
            scans: plan.scan_count(),
            files: plan.files.len(),
            bytes: plan.total_bytes(),
            plan: plan
                .files
                .iter()
                .map(|f| PreviewFile {
                    item: f.item.clone(),
                    path: f.path.clone(),
                    size: f.size,
                    digest: f.digest.clone(),
                })
                .collect(),
        }
    }

    /// The dry-run line for stderr.
    pub fn line(&self) -> String {
        format!(
            "would download {} files ({}) of {} scans to {}",
            self.files,
            mb(self.bytes),
            self.scans,
            self.output_dir
        )
    }
}

impl Report for Preview {
    type Row = PreviewFile;
    fn rows(&self) -> Vec<PreviewFile> {
        self.plan.clone()
    }
}

/// What `resource download --output-file` printed after streaming a resource's zip to one file.
#[derive(Debug, Clone, Serialize)]
pub struct ZipFile {
    /// The file written.
    pub output_file: String,
    /// Accession ID of the session.
    pub session_id: String,
    /// Resource label.
    pub resource: String,
    /// The scan whose resource it is (null for a session resource).
    pub scan: Option<String>,
    /// Bytes written.
    pub bytes: u64,
    /// MD5 of the bytes written.
    pub md5: String,
}

impl Item for ZipFile {
    const ID: &'static str = "output_file";
}

/// The summary of a run.
pub fn summarize(
    plan: &DownloadPlan,
    report: &ExecReport,
    verification: Option<Verification>,
    elapsed: Duration,
) -> TransferSummary {
    let items: Vec<TransferItem> = super::item_results(plan, report, verification.as_ref());
    let mut summary = TransferSummary::new(Operation::Download, items, elapsed);
    summary.session_id = Some(plan.session.id.clone());
    summary.project = plan.session.project.clone();
    summary.output_dir = Some(plan.session_dir.display().to_string());
    summary.scans = Some(plan.scan_count());
    summary.files = Some(report.complete());
    summary.bytes = Some(report.bytes());
    summary.verification = verification;
    summary.skipped_unsafe_entries = report.skipped_unsafe;
    summary
}

/// Lines for stderr: every failed item, every verification finding.
pub fn warnings(summary: &TransferSummary) -> Vec<String> {
    let mut out: Vec<String> = summary
        .failed()
        .map(|i| format!("{} FAILED: {}", i.id, i.error.as_deref().unwrap_or("")))
        .collect();
    if let Some(v) = &summary.verification {
        for (kind, keys) in [
            ("MISMATCH", &v.mismatched),
            ("MISSING", &v.missing_local),
            ("EXTRA", &v.missing_remote),
            ("COLLISION", &v.collisions),
        ] {
            out.extend(keys.iter().map(|k| format!("{kind}: {k}")));
        }
    }
    out
}

/// The closing line of a successful run (`None` when it did not succeed).
pub fn closing_line(
    plan: &DownloadPlan,
    report: &ExecReport,
    summary: &TransferSummary,
) -> Option<String> {
    if summary.status != RunStatus::Success || report.cancelled {
        return None;
    }
    let up_to_date = report
        .files
        .iter()
        .filter(|(_, s)| *s == FileStatus::UpToDate)
        .count();
    let resumed = if up_to_date > 0 {
        format!(", {up_to_date} already up to date")
    } else {
        String::new()
    };
    let resources: Vec<&str> = summary
        .items
        .iter()
        .filter_map(|i| i.id.strip_prefix("resource:"))
        .collect();
    Some(format!(
        "Downloaded {} ({}, {}{resumed}) to {}",
        downloaded_what(summary.scans.unwrap_or(0), &resources),
        counted(summary.files.unwrap_or(0), "file"),
        mb(summary.bytes.unwrap_or(0)),
        plan.session_dir.display()
    ))
}

/// How a printed run ends: cancelled (exit 7), a session that could not be renewed (exit 3),
/// failed items, or a failed verification.
pub fn outcome(
    summary: &TransferSummary,
    cancelled: bool,
    auth_failed: Option<&str>,
) -> Result<()> {
    if cancelled {
        return Err(Error::Cancelled);
    }
    if let Some(why) = auth_failed {
        return Err(Error::Auth(format!(
            "stopped the download: the server no longer accepts the session and it could not be renewed ({why})"
        )));
    }
    let failed: Vec<&str> = summary.failed().map(|i| i.id.as_str()).collect();
    if !failed.is_empty() {
        return Err(Error::Download(format!(
            "{} of {} items failed to download ({}); run the same command again to fetch only what is missing",
            failed.len(),
            summary.items.len(),
            failed.join(", ")
        )));
    }
    if let Some(v) = summary.verification.as_ref().filter(|v| !v.passed()) {
        return Err(Error::Verification(format!(
            "{} mismatched, {} missing locally, {} not on the server, {} collisions",
            v.mismatched.len(),
            v.missing_local.len(),
            v.missing_remote.len(),
            v.collisions.len()
        )));
    }
    Ok(())
}

/// `n word`, with an `s` unless `n` is 1.
fn counted(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// What a download fetched, for its closing line: the scans when there are any, else the
/// session resources (so `resource download` does not report "0 scans").
fn downloaded_what(scans: usize, resources: &[&str]) -> String {
    match resources {
        [label] if scans == 0 => format!("resource {label}"),
        [_, _, ..] if scans == 0 => counted(resources.len(), "session resource"),
        _ => counted(scans, "scan"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closing_line_names_scans_or_else_the_session_resources() {
        assert_eq!(downloaded_what(2, &["NOTES"]), "2 scans");
        assert_eq!(downloaded_what(1, &[]), "1 scan");
        assert_eq!(downloaded_what(0, &["NOTES"]), "resource NOTES");
        assert_eq!(downloaded_what(0, &["A", "B"]), "2 session resources");
        assert_eq!(downloaded_what(0, &[]), "0 scans");
        assert_eq!(counted(1, "file"), "1 file");
        assert_eq!(counted(0, "file"), "0 files");
    }

    #[test]
    fn failed_items_end_the_run_with_a_download_error_naming_them() {
        let items = vec![
            TransferItem::success("1"),
            TransferItem::failed("2", "boom"),
        ];
        let s = TransferSummary::new(Operation::Download, items, Duration::ZERO);
        assert_eq!(warnings(&s), ["2 FAILED: boom"]);
        let err = outcome(&s, false, None).unwrap_err().to_string();
        assert!(err.contains("1 of 2 items failed to download (2)"), "{err}");
        assert!(matches!(outcome(&s, true, None), Err(Error::Cancelled)));
    }

    #[test]
    fn a_failed_verification_ends_the_run_even_when_every_item_succeeded() {
        let mut s = TransferSummary::new(
            Operation::Download,
            vec![TransferItem::success("1")],
            Duration::ZERO,
        );
        s.verification = Some(Verification {
            missing_remote: vec!["x".into()],
            ..Verification::default()
        });
        assert_eq!(warnings(&s), ["EXTRA: x"]);
        assert!(matches!(
            outcome(&s, false, None),
            Err(Error::Verification(_))
        ));
    }
}
