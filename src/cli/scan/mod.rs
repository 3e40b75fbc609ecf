//! `scan`: list, show and delete the scans of a session.

mod download;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use futures::StreamExt;
use serde_json::json;

use crate::cli::session::{listing, print_json};
use crate::cli::shared::{read_batch, ConfirmArgs, ListArgs};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::output::Record;
use crate::core::validation::{validate_scan_id, DEFAULT_WORKERS};
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
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Session accession ID or label (labels need a project)
    #[arg(short = 'E', long = "experiment", value_name = "ID_OR_LABEL")]
    pub experiment: String,
    /// Project (default: the profile's default_project)
    #[arg(short = 'P', long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// Subject ID or label (needs a project)
    #[arg(short = 'S', long, value_name = "SUBJECT")]
    pub subject: Option<String>,
}

/// `scan list`.
#[derive(Debug, Args)]
pub struct ListCmd {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub list: ListArgs,
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
    /// Deletions to run at once (default: profile workers, else 4)
    #[arg(short = 'w', long, value_name = "N")]
    pub workers: Option<usize>,
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
    let project = ctx.project_or_default(t.project.as_deref());
    scans::inspect(
        ctx.client().await?,
        project.as_deref(),
        t.subject.as_deref(),
        &t.experiment,
    )
    .await
}

const COLUMNS: &[(&str, &str)] = &[
    ("id", "ID"),
    ("type", "Type"),
    ("series_description", "Series Description"),
    ("quality", "Quality"),
    ("frames", "Frames"),
];

async fn list(a: ListCmd, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let p = parent(ctx, &a.target).await?;
    let rows = scans::list(ctx.client().await?, &p).await?;
    let mut l = listing(&rows, COLUMNS, "id")?;
    controls.apply(&mut l)?;
    ctx.out().list(&l)
}

async fn show(a: ShowCmd, ctx: &Context) -> Result<()> {
    validate_scan_id(&a.scan)?;
    let p = parent(ctx, &a.target).await?;
    let d = scans::show(ctx.client().await?, &p, &a.scan).await?;
    if ctx.is_json() && !ctx.output_options().quiet {
        return print_json(ctx, &d);
    }
    let serde_json::Value::Object(fields) =
        serde_json::to_value(&d).map_err(|e| Error::Operation(e.to_string()))?
    else {
        return Err(Error::Operation("scan detail is not an object".into()));
    };
    let mut rec = Record::from_map(fields);
    rec.id_field = Some("id".into());
    for (k, l) in COLUMNS
        .iter()
        .chain(&[("note", "Note"), ("resources", "Resources")])
    {
        rec.label(*k, *l);
    }
    ctx.out().record(&rec)
}

async fn delete(a: DeleteCmd, ctx: &Context) -> Result<()> {
    let requested = match &a.batch {
        Some(b) => Some(
            scans::parse_scan_ids(&read_batch(b, a.confirm.yes || a.confirm.dry_run)?)?
                .unwrap_or_default(),
        ),
        None => scans::parse_scan_ids(&a.scans)?,
    };
    let go = ctx.confirm("Delete these scans?", a.confirm.yes, a.confirm.dry_run)?;
    let project = ctx.project_or_default(a.target.project.as_deref());
    let mut rec = AuditRecord::new("scan delete");
    rec.project = project.clone();
    rec.subject = a.target.subject.clone();
    rec.session = Some(a.target.experiment.clone());
    rec.dry_run = !go;
    let prepared = async {
        let p = parent(ctx, &a.target).await?;
        let ids = match &requested {
            Some(ids) => ids.clone(),
            None => scans::list(ctx.client().await?, &p)
                .await?
                .into_iter()
                .map(|s| s.id)
                .collect(),
        };
        if ids.is_empty() {
            return Err(Error::InvalidInput("no scans to delete".into()));
        }
        Ok((p, ids))
    }
    .await;
    let (p, ids) = match prepared {
        Ok(v) => v,
        Err(e) => {
            rec.error = Some(e.to_string());
            ctx.audit(rec);
            return Err(e);
        }
    };
    rec.detail("scans", json!(ids));
    if !go {
        rec.success = true;
        ctx.audit(rec);
        ctx.messages()
            .dry_run(&format!("would delete {} scan(s)", ids.len()));
        let rows: Vec<_> = ids
            .iter()
            .map(|id| json!({"id": id, "status": "would delete"}))
            .collect();
        let l = listing(&rows, &[("id", "ID"), ("status", "Status")], "id")?;
        return ctx.out().list(&l);
    }
    let workers = a
        .workers
        .or_else(|| ctx.profile().ok().and_then(|p| p.workers))
        .unwrap_or(DEFAULT_WORKERS)
        .clamp(1, ids.len());
    let client = ctx.client().await?;
    let outcomes: Vec<(String, Result<()>)> = futures::stream::iter(ids.iter().cloned())
        .map(|id| {
            let p = &p;
            async move {
                let r = scans::delete(client, p, &id).await;
                (id, r)
            }
        })
        .buffered(workers)
        .collect()
        .await;
    let failed: Vec<&(String, Result<()>)> = outcomes.iter().filter(|(_, r)| r.is_err()).collect();
    rec.success = failed.is_empty();
    if !failed.is_empty() {
        rec.error = Some(format!(
            "{} of {} deletions failed",
            failed.len(),
            ids.len()
        ));
    }
    ctx.audit(rec);
    let rows: Vec<_> = outcomes
        .iter()
        .map(|(id, r)| {
            json!({"id": id, "status": if r.is_ok() { "deleted" } else { "failed" },
                   "error": r.as_ref().err().map(|e| e.to_string())})
        })
        .collect();
    let l = listing(
        &rows,
        &[("id", "ID"), ("status", "Status"), ("error", "Error")],
        "id",
    )?;
    ctx.out().list(&l)?;
    if failed.is_empty() {
        ctx.messages()
            .success(&format!("Deleted {} scan(s)", ids.len()));
        Ok(())
    } else {
        Err(Error::Batch {
            failed: failed.len(),
            total: ids.len(),
        })
    }
}
