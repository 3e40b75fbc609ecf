//! The download engine behind `session download`, `scan download` and `resource download`:
//! the options they share, session resolution, the plan, the run and one summary. Each verb's
//! arguments and handler live with its group (`cli/session/download.rs`, `cli/scan/download.rs`,
//! `cli/resource/download.rs`).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde_json::{json, Map, Value};

use super::Context;
use crate::core::output::{Column, Listing};
use crate::core::validation::validate_resource_label;
use crate::core::{Error, Result};
use crate::services::download::{
    self, build_plan, execute, item_results, resolve_session, resolve_session_of_subject,
    DownloadPlan, ExecOptions, FileStatus, PlanRequest, ResourceFilter, ScanSelection, SessionLock,
};
use crate::services::transfer::{Operation, RunStatus, TransferItem, TransferSummary};
use crate::services::verify::verify_tree;

/// Options shared by the three download commands.
#[derive(Debug, Clone, Args)]
pub struct TransferArgs {
    /// Directory to download into; the session gets its own folder inside it
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
    /// Files fetched in parallel (default: profile `workers`, else 4)
    #[arg(short = 'w', long, value_name = "N")]
    pub workers: Option<usize>,
    /// After the run, re-check every file against the server and report extra or missing files
    #[arg(long)]
    pub verify: bool,
    /// Print the plan (files, sizes, destinations) and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Attempts per file when its transfer breaks
    #[arg(long, default_value_t = 3, hide = true)]
    pub attempts: u32,
    /// Fetch every file with its own request, never a resource's archive (for comparisons)
    #[arg(long, hide = true)]
    pub per_file: bool,
    /// Abandon (and retry) a file that moves under 64 KiB in this many seconds
    #[arg(long, default_value_t = 120, hide = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub stall_seconds: u64,
}

/// `-E/--experiment` and `-P/--project`: the one session a scan or session download reads.
#[derive(Debug, Clone, Args)]
pub struct SessionArgs {
    /// Session accession ID, or label with -P
    #[arg(short = 'E', long = "experiment", value_name = "ID_OR_LABEL")]
    pub experiment: String,
    /// Project (needed to look up a label; default: profile default_project)
    #[arg(short = 'P', long)]
    pub project: Option<String>,
}

/// `-r/--resource` and `--exclude-resource`: which resource labels a download keeps.
#[derive(Debug, Clone, Args)]
pub struct ResourceFilterArgs {
    /// Only these resource labels (repeatable)
    #[arg(
        short = 'r',
        long = "resource",
        value_name = "LABEL",
        conflicts_with = "exclude_resource"
    )]
    pub resource: Vec<String>,
    /// Skip these resource labels (repeatable)
    #[arg(long = "exclude-resource", value_name = "LABEL")]
    pub exclude_resource: Vec<String>,
}

impl ResourceFilterArgs {
    /// The validated filter (every label checked before any request).
    pub fn filter(&self) -> Result<ResourceFilter> {
        Ok(ResourceFilter {
            include: checked_labels(&self.resource)?,
            exclude: checked_labels(&self.exclude_resource)?,
        })
    }
}

/// The reference's `--extract/--no-extract`. Files always land extracted in the one layout
/// (`docs/downloads.md`), so `--extract` is accepted as the default and `--no-extract` only warns.
#[derive(Debug, Clone, Args)]
pub struct ExtractArgs {
    /// Accepted for compatibility: files are always written extracted (the default)
    #[arg(long, overrides_with = "no_extract")]
    pub extract: bool,
    /// Accepted for compatibility and ignored with a warning: files are always written extracted
    #[arg(long, overrides_with = "extract")]
    pub no_extract: bool,
}

impl ExtractArgs {
    pub(crate) fn warn(&self, ctx: &Context) {
        if self.no_extract {
            ctx.messages().warn(
                "--no-extract is ignored: files are always written extracted, one per catalog entry \
                 (use `resource download --output-file` for a zip)",
            );
        }
    }
}

pub(crate) fn checked_labels(labels: &[String]) -> Result<Vec<String>> {
    labels.iter().map(|l| validate_resource_label(l)).collect()
}

/// Which session a download is about, as given on the command line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub(crate) project: Option<&'a str>,
    pub(crate) subject: Option<&'a str>,
    pub(crate) experiment: &'a str,
}

pub(crate) async fn resolve_target(ctx: &Context, t: Target<'_>) -> Result<download::SessionRef> {
    let client = ctx.client().await?;
    match t.subject {
        None => resolve_session(client, t.project, t.experiment).await,
        Some(subject) => {
            let project = t
                .project
                .ok_or_else(|| Error::usage("-S/--subject needs -P/--project"))?;
            resolve_session_of_subject(client, project, subject, t.experiment).await
        }
    }
}

fn workers(ctx: &Context, flag: Option<usize>) -> usize {
    flag.or_else(|| ctx.profile().ok().and_then(|p| p.workers))
        .unwrap_or(4)
        .clamp(1, 64)
}

pub(crate) fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

pub(crate) async fn run(
    ctx: &Context,
    target: Target<'_>,
    mut req: PlanRequest,
    t: &TransferArgs,
) -> Result<()> {
    let started = Instant::now();
    let workers = workers(ctx, t.workers);
    req.workers = workers;
    let session = resolve_target(ctx, target).await?;
    let client = ctx.client().await?;
    let plan = build_plan(client, session, &t.out, &req).await?;
    if t.dry_run {
        return print_plan(ctx, &plan, &req, workers);
    }
    if matches!(req.scans, ScanSelection::None) && plan.files.is_empty() && plan.items.is_empty() {
        let label = req.filter.include.first().cloned().unwrap_or_default();
        return Err(Error::not_found("resource", label));
    }

    ctx.set_cancel_aware();
    let manifest_dir = crate::core::config::Config::config_dir().join("downloads");
    let _lock = SessionLock::acquire(&manifest_dir, &plan.session_dir, ctx.cancel_token(), || {
        ctx.messages().warn(&format!(
            "another xnatctl download into {} is running; waiting for it to finish",
            plan.session_dir.display()
        ))
    })
    .await?;
    let progress = super::progress::for_transfer(ctx, plan.total_bytes());
    let opts = ExecOptions {
        workers,
        attempts: t.attempts.max(1),
        manifest_dir: Some(manifest_dir.clone()),
        sweep_leftovers: true,
        archives: !t.per_file,
        stall_after: std::time::Duration::from_secs(t.stall_seconds),
    };
    let report = execute(client, &plan, opts, progress.as_ref(), ctx.cancel_token()).await;
    drop(progress);
    for notice in &report.notices {
        ctx.messages().warn(notice);
    }

    let verification = if t.verify && !report.cancelled {
        let v = verify_tree(
            &plan.session_dir,
            &plan.files,
            &plan.resource_dirs,
            &plan.collisions,
        )
        .await;
        download::forget_in_manifest(&manifest_dir, &plan.session_dir, &v.mismatched);
        Some(v)
    } else {
        None
    };
    let items = item_results(&plan, &report, verification.as_ref());
    let mut summary = TransferSummary::new(Operation::Download, items, started.elapsed());
    summary.session_id = Some(plan.session.id.clone());
    summary.project = plan.session.project.clone();
    summary.output_dir = Some(plan.session_dir.display().to_string());
    summary.scans = Some(plan.scan_count());
    summary.files = Some(report.complete());
    summary.bytes = Some(report.bytes());
    summary.verification = verification;
    summary.skipped_unsafe_entries = report.skipped_unsafe;
    print_summary(ctx, &plan, &report, &summary)?;

    if report.cancelled {
        return Err(Error::Cancelled);
    }
    if let Some(why) = &report.auth_failed {
        return Err(Error::Auth(format!(
            "stopped the download: the server no longer accepts the session and it could not be renewed ({why})"
        )));
    }
    let failed: Vec<&TransferItem> = summary.failed().collect();
    if !failed.is_empty() {
        let ids: Vec<&str> = failed.iter().map(|i| i.id.as_str()).collect();
        return Err(Error::Download(format!(
            "{} of {} items failed to download ({}); run the same command again to fetch only what is missing",
            failed.len(),
            summary.items.len(),
            ids.join(", ")
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

fn print_plan(ctx: &Context, plan: &DownloadPlan, req: &PlanRequest, workers: usize) -> Result<()> {
    ctx.messages().dry_run(&format!(
        "would download {} files ({}) of {} scans to {}",
        plan.files.len(),
        mb(plan.total_bytes()),
        plan.scan_count(),
        plan.session_dir.display()
    ));
    for (id, e) in &plan.item_errors {
        ctx.messages()
            .warn(&format!("{id}: cannot list files: {e}"));
    }
    if ctx.is_json() {
        let resources: Value = if req.filter.include.is_empty() {
            json!("all")
        } else {
            json!(req.filter.include)
        };
        let doc = json!({
            "operation": "download",
            "dry_run": true,
            "session_id": plan.session.id,
            "project": plan.session.project,
            "subject": plan.session.subject,
            "output_dir": plan.session_dir.display().to_string(),
            "workers": workers,
            "resources": resources,
            "resource_filter_mode": req.filter.mode(),
            "excluded_resources": req.filter.exclude,
            "session_resources": req.session_resources,
            "items": plan.items,
            "scans": plan.scan_count(),
            "files": plan.files.len(),
            "bytes": plan.total_bytes(),
            "plan": plan.files.iter().map(|f| json!({
                "item": f.item, "path": f.path, "size": f.size, "digest": f.digest,
            })).collect::<Vec<_>>(),
        });
        return ctx.out().json(&doc);
    }
    let rows = plan
        .files
        .iter()
        .map(|f| {
            let mut m = Map::new();
            m.insert("item".into(), json!(f.item));
            m.insert("path".into(), json!(f.path));
            m.insert("size".into(), json!(f.size));
            m
        })
        .collect();
    let listing = Listing {
        columns: vec![
            Column::new("item", "Item"),
            Column::new("path", "Path"),
            Column::new("size", "Size"),
        ],
        rows,
        id_field: "path".into(),
        title: None,
    };
    ctx.out().list(&listing)
}

fn print_summary(
    ctx: &Context,
    plan: &DownloadPlan,
    report: &download::ExecReport,
    summary: &TransferSummary,
) -> Result<()> {
    for item in summary.failed() {
        ctx.messages().warn(&format!(
            "{} FAILED: {}",
            item.id,
            item.error.as_deref().unwrap_or("")
        ));
    }
    if let Some(v) = &summary.verification {
        for (kind, keys) in [
            ("MISMATCH", &v.mismatched),
            ("MISSING", &v.missing_local),
            ("EXTRA", &v.missing_remote),
            ("COLLISION", &v.collisions),
        ] {
            for k in keys {
                ctx.messages().warn(&format!("{kind}: {k}"));
            }
        }
        if v.passed() {
            ctx.messages().success(&format!(
                "Verified {} files",
                v.matched + v.unverifiable.len()
            ));
        }
    }
    ctx.out().report(summary)?;
    if summary.status == RunStatus::Success && !report.cancelled {
        let skipped = report
            .files
            .iter()
            .filter(|(_, s)| *s == FileStatus::UpToDate)
            .count();
        let resumed = if skipped > 0 {
            format!(", {skipped} already up to date")
        } else {
            String::new()
        };
        let resources: Vec<&str> = summary
            .items
            .iter()
            .filter_map(|i| i.id.strip_prefix("resource:"))
            .collect();
        ctx.messages().success(&format!(
            "Downloaded {} ({}, {}{resumed}) to {}",
            downloaded_what(summary.scans.unwrap_or(0), &resources),
            counted(summary.files.unwrap_or(0), "file"),
            mb(summary.bytes.unwrap_or(0)),
            plan.session_dir.display()
        ));
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
}
