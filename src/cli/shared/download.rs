//! The download wiring `session download`, `scan download` and `resource download` share: their
//! common options, which session a command names, and the run — plan, lock, transfer, verify,
//! summary — around `services::download`, with the progress bar and status lines only the CLI
//! draws.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::WorkersArg;
use crate::cli::Context;
use crate::core::validation::validate_resource_label;
use crate::core::{Error, Result};
use crate::services::download::{
    self, build_plan, execute, plan_session, resolve_session, resolve_session_of_subject,
    ExecOptions, PlanRequest, Preview, ResourceFilter, ScanSelection, SessionLock,
};
use crate::services::transfer::TransferSummary;
use crate::services::verify::verify_tree;

/// Options shared by the three download commands.
#[derive(Debug, Clone, Args)]
pub struct TransferArgs {
    /// Directory to download into; the session gets its own folder inside it
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub workers: WorkersArg,
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
        let checked = |labels: &[String]| -> Result<Vec<String>> {
            labels.iter().map(|l| validate_resource_label(l)).collect()
        };
        Ok(ResourceFilter {
            include: checked(&self.resource)?,
            exclude: checked(&self.exclude_resource)?,
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
    /// Warn when `--no-extract` was given.
    pub fn warn(&self, ctx: &Context) {
        if self.no_extract {
            ctx.messages().warn(
                "--no-extract is ignored: files are always written extracted, one per catalog entry \
                 (use `resource download --output-file` for a zip)",
            );
        }
    }
}

/// Which session a download is about, as given on the command line.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// `-P`, else the profile's default project.
    pub project: Option<&'a str>,
    /// `-S`: the subject the session must belong to.
    pub subject: Option<&'a str>,
    /// `-E`: accession ID or label.
    pub experiment: &'a str,
}

/// Resolve the session a download names.
pub async fn resolve_target(ctx: &Context, t: Target<'_>) -> Result<download::SessionRef> {
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

/// What one session's run produced, before anything of it goes to stdout, so that a
/// manifest's sessions print as one document.
pub enum Ran {
    /// `--dry-run`: the plan.
    Preview(Preview),
    /// The transfer ran: its summary, the closing line for stderr and the exit outcome.
    Done {
        /// The summary document.
        summary: TransferSummary,
        /// "Downloaded ..." (none when nothing finished).
        closing: Option<String>,
        /// The run's error, if it failed, was cancelled or did not verify.
        outcome: Result<()>,
    },
}

/// Plan, then (unless `--dry-run`) download, verify and print the summary.
pub async fn run(
    ctx: &Context,
    target: Target<'_>,
    req: PlanRequest,
    t: &TransferArgs,
) -> Result<()> {
    match transfer(ctx, target, req, t).await? {
        Ran::Preview(preview) => ctx.out().report(&preview),
        Ran::Done {
            summary,
            closing,
            outcome,
        } => {
            ctx.out().report(&summary)?;
            if let Some(line) = closing {
                ctx.messages().success(&line);
            }
            outcome
        }
    }
}

/// Plan, then (unless `--dry-run`) download and verify; stderr gets the run's messages, the
/// caller prints the document.
pub async fn transfer(
    ctx: &Context,
    target: Target<'_>,
    mut req: PlanRequest,
    t: &TransferArgs,
) -> Result<Ran> {
    let started = Instant::now();
    let workers = t.workers.resolve(ctx);
    req.workers = workers;
    let client = ctx.client().await?;
    let plan = match target.subject {
        // The session lookup and its listings go out together (one round trip).
        None => plan_session(client, target.project, target.experiment, &t.out, &req).await?,
        Some(_) => {
            let session = resolve_target(ctx, target).await?;
            build_plan(client, session, &t.out, &req).await?
        }
    };
    if t.dry_run {
        let preview = Preview::new(&plan, &req, workers);
        ctx.messages().dry_run(&preview.line());
        for (id, e) in &plan.item_errors {
            ctx.messages()
                .warn(&format!("{id}: cannot list files: {e}"));
        }
        return Ok(Ran::Preview(preview));
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
    let progress = crate::cli::progress::for_transfer(ctx, plan.total_bytes());
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
    let summary = download::summarize(&plan, &report, verification, started.elapsed());
    for line in download::warnings(&summary) {
        ctx.messages().warn(&line);
    }
    if let Some(v) = summary.verification.as_ref().filter(|v| v.passed()) {
        let n = v.matched + v.unverifiable.len();
        ctx.messages().success(&format!("Verified {n} files"));
    }
    let closing = download::closing_line(&plan, &report, &summary);
    let outcome = download::outcome(&summary, report.cancelled, report.auth_failed.as_deref());
    Ok(Ran::Done {
        summary,
        closing,
        outcome,
    })
}
