//! Session, scan and resource downloads with one on-disk layout, archives, single files and
//! resume.
//!
//! The catalog listing gives every file's size and MD5, so each file is hashed while it streams
//! to a unique temporary file next to its final name (`staged.rs`) and renamed only once
//! complete and verified, whether it arrives alone or as an entry of its resource's zip
//! (`archive.rs`, parsed as it arrives by `zipstream.rs`). Archives save a request per file,
//! which a real server makes slow; single files fetch only what a resume or a broken archive
//! left missing. The rule between them is `wants_archive` in `archive/unit.rs`.
//!
//! Layout (documented in docs/downloads.md), relative to `<out>/<session label>/`:
//! `scans/<scan id>/resources/<label>/files/<relpath>` and `resources/<label>/files/<relpath>`.

mod archive;
mod engine;
mod lock;
mod manifest;
mod md5x;
mod plan;
pub mod staged;
mod stall;
mod summary;
mod zipstream;

pub use engine::{execute, md5_of_file, ExecOptions, ExecReport, FileStatus};
pub use lock::SessionLock;
pub use plan::{
    build_plan, plan_session, resolve_session, resolve_session_of_subject, resource_zip_path,
    DownloadPlan, PlanRequest, PlannedFile, ResourceFilter, ScanSelection, SessionRef,
};
pub use summary::{closing_line, mb, outcome, summarize, warnings, Preview, PreviewFile, ZipFile};

use crate::services::transfer::TransferItem;
use crate::services::verify::Verification;

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
/// `--verify` found one of its files different or missing; else `success`. Each carries its
/// counts: files in place, files fetched by this run, and their bytes.
pub fn item_results(
    plan: &DownloadPlan,
    report: &ExecReport,
    verification: Option<&Verification>,
) -> Vec<TransferItem> {
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
            let (files, bytes, fetched) = report.files.iter().filter(|(f, _)| &f.item == id).fold(
                (0, 0, 0),
                |(n, b, d), (f, s)| match s {
                    FileStatus::Downloaded(x) => (n + 1, b + f.size.unwrap_or(*x), d + 1),
                    FileStatus::UpToDate => (n + 1, b + f.size.unwrap_or(0), d),
                    _ => (n, b, d),
                },
            );
            if let Some((_, e)) = plan.item_errors.iter().find(|(i, _)| i == id) {
                return TransferItem::failed(id, e).with_counts(files, fetched, bytes);
            }
            let mut mine = problems.iter().filter(|(i, _)| i == id);
            let item = match mine.next() {
                None => TransferItem::success(id),
                Some((_, why)) => {
                    let more = mine.count();
                    TransferItem::failed(
                        id,
                        if more > 0 {
                            format!("{why} (and {more} more files)")
                        } else {
                            why.clone()
                        },
                    )
                }
            };
            item.with_counts(files, fetched, bytes)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::transfer::{ItemStatus, RunStatus};

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
            auth_failed: None,
        };
        let items = item_results(&p, &report, None);
        assert_eq!(items[0].status, ItemStatus::Success);
        assert_eq!(items[1].status, ItemStatus::Failed);
        let e = items[1].error.as_deref().unwrap();
        assert!(
            e.contains("files/X: another catalog file") && e.ends_with("(and 1 more files)"),
            "{e}"
        );
        assert_eq!(RunStatus::of(&items), RunStatus::Partial);
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
            auth_failed: None,
        };
        let v = Verification {
            mismatched: vec![a.path.clone()],
            ..Default::default()
        };
        let items = item_results(&p, &report, Some(&v));
        assert_eq!(items[0].status, ItemStatus::Failed);
        assert!(items[0].error.as_deref().unwrap().contains("differs"));
    }
}
