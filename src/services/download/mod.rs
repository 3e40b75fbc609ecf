//! Session, scan and resource downloads with one on-disk layout, archives, single files and
//! resume.
//!
//! The catalog listing gives every file's size and MD5, so each file is hashed while it streams
//! to a unique temporary file next to its final name (`staged.rs`) and renamed only once
//! complete and verified, whether it arrives alone or as an entry of its resource's zip
//! (`archive.rs`, parsed as it arrives by `zipstream.rs`). Archives save a request per file,
//! which a real server makes slow; single files fetch only what a resume or a broken archive
//! left missing. The rule between them is `archive::wants_archive`.
//!
//! Layout (documented in docs/downloads.md), relative to `<out>/<session label>/`:
//! `scans/<scan id>/resources/<label>/files/<relpath>` and `resources/<label>/files/<relpath>`.

mod archive;
mod engine;
mod lock;
mod manifest;
mod plan;
pub mod staged;
mod stall;
mod zipstream;

pub use engine::{execute, md5_of_file, ExecOptions, ExecReport, FileStatus};
pub use lock::SessionLock;
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

/// Withdraw the resume records of `paths` under `session_dir` (files a `--verify` found
/// different), so the next run hashes them and fetches them again.
pub fn forget_in_manifest(
    manifest_dir: &std::path::Path,
    session_dir: &std::path::Path,
    paths: &[String],
) {
    if paths.is_empty() {
        return;
    }
    let m = manifest::Manifest::load(manifest::Manifest::path_for(manifest_dir, session_dir));
    for p in paths {
        m.forget(p);
    }
}

/// One result per planned item: `failed` when its listing failed, when any of its files failed,
/// was cancelled or collided with another catalog path (and so was not written), or when
/// `--verify` found one of its files different or missing; else `ok`.
pub fn item_results(
    plan: &DownloadPlan,
    report: &ExecReport,
    verification: Option<&Verification>,
) -> Vec<ItemResult> {
    let item_of = |path: &str| {
        plan.files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.item.as_str())
    };
    let mut problems: Vec<(&str, String)> = Vec::new();
    for (f, s) in &report.files {
        match s {
            FileStatus::Failed(e) => problems.push((&f.item, e.clone())),
            FileStatus::Cancelled => problems.push((&f.item, format!("{}: cancelled", f.path))),
            FileStatus::Downloaded(_) | FileStatus::UpToDate => {}
        }
    }
    for f in &plan.collided {
        problems.push((
            &f.item,
            format!(
                "{}: another catalog file has the same path (or one differing only in case); \
                 neither was written",
                f.path
            ),
        ));
    }
    if let Some(v) = verification {
        for (paths, what) in [
            (
                &v.mismatched,
                "differs from the server's digest (the next run fetches it again)",
            ),
            (&v.missing_local, "is missing locally"),
        ] {
            for p in paths {
                if let Some(item) = item_of(p) {
                    problems.push((item, format!("{p}: {what}")));
                }
            }
        }
    }
    plan.items
        .iter()
        .map(|id| {
            if let Some((_, e)) = plan.item_errors.iter().find(|(i, _)| i == id) {
                return ItemResult {
                    id: id.clone(),
                    status: "failed".into(),
                    error: Some(e.clone()),
                };
            }
            let mut mine = problems.iter().filter(|(i, _)| i == id);
            match mine.next() {
                None => ItemResult {
                    id: id.clone(),
                    status: "ok".into(),
                    error: None,
                },
                Some((_, why)) => {
                    let more = mine.count();
                    ItemResult {
                        id: id.clone(),
                        status: "failed".into(),
                        error: Some(if more > 0 {
                            format!("{why} (and {more} more files)")
                        } else {
                            why.clone()
                        }),
                    }
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(item: &str, path: &str) -> PlannedFile {
        PlannedFile {
            item: item.into(),
            uri: format!("/data/x/files/{path}"),
            path: path.into(),
            size: Some(1),
            digest: Some("d".into()),
        }
    }

    fn plan(files: Vec<PlannedFile>, collided: Vec<PlannedFile>) -> DownloadPlan {
        DownloadPlan {
            session: SessionRef {
                id: "E1".into(),
                label: "S".into(),
                project: None,
                subject: None,
            },
            session_dir: "o/S".into(),
            items: vec!["1".into(), "2".into()],
            resource_dirs: vec![],
            files,
            item_errors: vec![],
            collisions: collided.iter().map(|f| f.path.clone()).collect(),
            collided,
        }
    }

    #[test]
    fn a_collided_file_fails_its_item_even_without_verify() {
        let a = file("1", "scans/1/resources/D/files/a");
        let p = plan(
            vec![a.clone()],
            vec![
                file("2", "scans/2/resources/D/files/X"),
                file("2", "scans/2/resources/D/files/x"),
            ],
        );
        let report = ExecReport {
            files: vec![(a, FileStatus::Downloaded(1))],
            cancelled: false,
            notices: Vec::new(),
            skipped_unsafe: 0,
        };
        let items = item_results(&p, &report, None);
        assert_eq!(items[0].status, "ok");
        assert_eq!(items[1].status, "failed");
        let e = items[1].error.as_deref().unwrap();
        assert!(
            e.contains("files/X: another catalog file") && e.ends_with("(and 1 more files)"),
            "{e}"
        );
        assert_eq!(overall_status(&items), "partial");
    }

    #[test]
    fn a_verify_mismatch_fails_the_item() {
        let a = file("1", "scans/1/resources/D/files/a");
        let p = plan(vec![a.clone()], vec![]);
        let report = ExecReport {
            files: vec![(a.clone(), FileStatus::UpToDate)],
            cancelled: false,
            notices: Vec::new(),
            skipped_unsafe: 0,
        };
        let v = Verification {
            mismatched: vec![a.path.clone()],
            ..Default::default()
        };
        let items = item_results(&p, &report, Some(&v));
        assert_eq!(items[0].status, "failed");
        assert!(items[0].error.as_deref().unwrap().contains("differs"));
    }
}
