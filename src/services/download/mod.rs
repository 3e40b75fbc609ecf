//! Session, scan and resource downloads with one on-disk layout, a per-file engine and resume.
//!
//! Why per file rather than XNAT's zip archives: the catalog listing gives every file's size and
//! MD5, so each file can be fetched by its URI on a bounded worker pool, hashed while it streams
//! to `<final>.part`, and renamed only once complete and verified. A dropped connection then costs
//! one file, and running the same download again fetches only what is missing or different.
//!
//! Layout (documented in docs/downloads.md), relative to `<out>/<session label>/`:
//! `scans/<scan id>/resources/<label>/files/<relpath>` and `resources/<label>/files/<relpath>`.

mod engine;
mod manifest;
mod plan;

pub use engine::{execute, md5_of_file, ExecOptions, ExecReport, FileStatus};
pub use plan::{
    build_plan, resolve_session, resolve_session_of_subject, resource_zip_path, DownloadPlan,
    PlanRequest, PlannedFile, ResourceFilter, ScanSelection, SessionRef,
};

use serde::Serialize;

use crate::services::verify::Verification;

/// One item (a scan, or a session resource as `resource:<label>`) in a [`TransferSummary`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ItemResult {
    /// Scan ID, or `resource:<label>`.
    pub id: String,
    /// `ok` or `failed`.
    pub status: String,
    /// Why the item failed.
    pub error: Option<String>,
}

/// The reference's `TransferSummary` JSON object, with counts that mean what they say.
#[derive(Debug, Clone, Serialize)]
pub struct TransferSummary {
    /// Always `download` here.
    pub operation: String,
    /// Accession ID of the session.
    pub session_id: String,
    /// The session's primary project.
    pub project: Option<String>,
    /// The session directory files were written under.
    pub output_dir: String,
    /// Unused for downloads (the reference prints null).
    pub source: Option<String>,
    /// Distinct scans that had files to transfer (each counted once).
    pub scans: usize,
    /// Files now present and verified locally (downloaded or already up to date).
    pub files: usize,
    /// Bytes transferred in this run.
    pub bytes: u64,
    /// Wall-clock seconds.
    pub duration_seconds: f64,
    /// `success`, `partial` or `failed`.
    pub status: String,
    /// One entry per scan or session resource.
    pub items: Vec<ItemResult>,
    /// The `--verify` report, when asked for.
    pub verification: Option<Verification>,
    /// Archive members refused as unsafe (always 0 for the per-file engine).
    pub skipped_unsafe_entries: usize,
}

/// `success` when every item succeeded, `failed` when none did, else `partial`.
pub fn overall_status(items: &[ItemResult]) -> &'static str {
    let ok = items.iter().filter(|i| i.status == "ok").count();
    if ok == items.len() {
        "success"
    } else if ok == 0 {
        "failed"
    } else {
        "partial"
    }
}
