//! `scan`: list, show and delete the scans of a session.

mod download;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::cli::shared::{
    batch, mutate, read_batch, ConfirmArgs, ListArgs, SessionTarget, WorkersArg,
};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::validation::validate_scan_id;
use crate::core::{Error, Result};
use crate::services::scans::{self, ScanParent};

/// Scan subcommands.
#[derive(Debug, Subcommand)]
pub enum ScanCommand {
    /// List the scans of a session
    List(ListCmd),
    /// Show one scan and its resources
    Show(ShowCmd),
    /// Delete scans of a session
    Delete(DeleteCmd),
    /// Download scans' files (parallel, resumable, verified)
    Download(download::DownloadArgs),
}

/// Which session: `-E`, `-P`, `-S`.
pub type Target = SessionTarget;

/// `scan list`.
#[derive(Debug, Args)]
pub struct ListCmd {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub list: ListArgs,
    /// Also write the listed scans (after --filter/--sort-by/--limit) to FILE as JSON lines, for
    /// `session download --manifest FILE`
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
}

/// `scan show`.
#[derive(Debug, Args)]
pub struct ShowCmd {
    #[command(flatten)]
    pub target: Target,
    /// Scan ID
    #[arg(value_name = "SCAN_ID")]
    pub scan: String,
}

/// `scan delete`.
#[derive(Debug, Args)]
pub struct DeleteCmd {
    #[command(flatten)]
    pub target: Target,
    /// Scans to delete: repeatable, comma-separated, `*` for all
    #[arg(
        long,
        short = 's',
        value_name = "IDS",
        conflicts_with = "batch",
        required_unless_present = "batch"
    )]
    pub scans: Vec<String>,
    /// File with one scan ID per line (or a JSON array); `-` reads stdin
    #[arg(long, value_name = "FILE")]
    pub batch: Option<PathBuf>,
    #[command(flatten)]
    pub workers: WorkersArg,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run a scan subcommand.
pub async fn run(cmd: ScanCommand, ctx: &Context) -> Result<()> {
    match cmd {
        ScanCommand::List(a) => list(a, ctx).await,
        ScanCommand::Show(a) => show(a, ctx).await,
        ScanCommand::Delete(a) => delete(a, ctx).await,
        ScanCommand::Download(a) => download::run(a, ctx).await,
    }
}

async fn parent(ctx: &Context, t: &Target) -> Result<ScanParent> {
    let project = t.session.project.or_default(ctx);
    scans::inspect(
        ctx.client().await?,
        project.as_deref(),
        t.subject.as_deref(),
        &t.session.experiment,
    )
    .await
}

async fn list(a: ListCmd, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let p = parent(ctx, &a.target).await?;
    let rows = scans::list(ctx.client().await?, &p).await?;
    if let Some(path) = &a.manifest {
        write_manifest(ctx, path, &a.target, &p, &rows, &controls)?;
    }
    ctx.out().rows(&rows, &controls)
}

/// The scans `scan list` selected, one manifest line each.
fn write_manifest(
    ctx: &Context,
    path: &std::path::Path,
    target: &Target,
    p: &ScanParent,
    rows: &[crate::services::experiments::ScanRow],
    controls: &crate::core::output::ListControls,
) -> Result<()> {
    use crate::services::manifest::{self, Entry};
    let project = p
        .project
        .clone()
        .or_else(|| target.session.project.or_default(ctx))
        .unwrap_or_default();
    let given = &target.session.experiment;
    let selected = crate::core::output::listing_of(rows, controls)?;
    let entries: Vec<Entry> = selected
        .rows
        .iter()
        .map(|r| {
            let text = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            Entry {
                project: project.clone(),
                session_id: p.experiment_id.clone(),
                session_label: if given != &p.experiment_id {
                    given.clone()
                } else {
                    String::new()
                },
                subject_label: target.subject.clone().unwrap_or_default(),
                scan_id: Some(text("id")),
                scan_type: text("type"),
            }
        })
        .collect();
    manifest::write(path, &entries)?;
    ctx.messages().info(&format!(
        "Wrote {} scan(s) to the manifest {}",
        entries.len(),
        path.display()
    ));
    Ok(())
}

async fn show(a: ShowCmd, ctx: &Context) -> Result<()> {
    validate_scan_id(&a.scan)?;
    let p = parent(ctx, &a.target).await?;
    let d = scans::show(ctx.client().await?, &p, &a.scan).await?;
    ctx.out().item(&d)
}

async fn delete(a: DeleteCmd, ctx: &Context) -> Result<()> {
    let requested = match &a.batch {
        Some(b) => Some(
            scans::parse_scan_ids(&read_batch(b, a.confirm.unattended())?)?.unwrap_or_default(),
        ),
        None => scans::parse_scan_ids(&a.scans)?,
    };
    let workers = a.workers.resolve(ctx);
    let project = a.target.session.project.or_default(ctx);
    let mut rec = AuditRecord::new("scan delete");
    rec.project = project;
    rec.subject = a.target.subject.clone();
    rec.session = Some(a.target.session.experiment.clone());
    mutate(
        ctx,
        "Delete these scans?",
        &a.confirm,
        rec,
        |mode, notes| async move {
            let client = ctx.client().await?;
            let p = parent(ctx, &a.target).await?;
            let ids = match requested {
                Some(ids) => ids,
                None => scans::list(client, &p)
                    .await?
                    .into_iter()
                    .map(|s| s.id)
                    .collect(),
            };
            if ids.is_empty() {
                return Err(Error::InvalidInput("no scans to delete".into()));
            }
            notes.detail("scans", json!(ids));
            let outcomes = if mode.apply() {
                batch::run(&ids, workers, |id| scans::delete(client, &p, id)).await
            } else {
                ids.iter().map(|_| Ok(())).collect()
            };
            let wording = batch::Wording {
                item: |_: &str, _: &()| String::new(),
                done: "Deleted {n} scan(s)",
                preview: "would delete {n} scan(s)",
            };
            batch::report(ctx, &ids, outcomes, mode, false, wording)
        },
    )
    .await
}
