//! `xnatctl subject list|show|delete|rename|share|unshare|vars`.
//!
//! The project is required for every verb (`-P`, else the profile's default_project).

mod rename;
mod vars;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use futures::StreamExt;
use serde_json::Value;

use super::common::{read_batch, ConfirmArgs, ListArgs};
use super::project::{audited, listing, print_listing, print_record, to_rows};
use super::Context;
use crate::core::audit::AuditRecord;
use crate::core::validation::validate_subject_id;
use crate::core::{Error, Result};
use crate::services::projects::Fetch;
use crate::services::subjects;

pub use rename::RenameArgs;
pub use vars::VarsArgs;

/// Items handled at once by `--batch` runs.
pub(crate) const BATCH_WORKERS: usize = 4;

/// The `subject` subcommands.
#[derive(Debug, Subcommand)]
pub enum SubjectCommand {
    /// List a project's subjects (with session counts)
    List(ListCmd),
    /// Show one subject with its sessions and shares
    Show(ShowArgs),
    /// Delete subjects and all their sessions
    Delete(DeleteArgs),
    /// Rename subjects by mapping file or pattern (merging into existing targets)
    Rename(RenameArgs),
    /// Share a subject into another project
    Share(ShareArgs),
    /// Remove a subject's share from another project
    Unshare(UnshareArgs),
    /// Show a subject's custom variables, or set them with `vars set`
    Vars(VarsArgs),
}

/// `-P/--project`.
#[derive(Debug, Clone, Args)]
pub struct ProjectArg {
    /// Project id (default: the profile's default_project)
    #[arg(short = 'P', long)]
    pub project: Option<String>,
}

/// Arguments of `subject list`.
#[derive(Debug, Args)]
pub struct ListCmd {
    #[command(flatten)]
    pub project: ProjectArg,
    #[command(flatten)]
    pub list: ListArgs,
}

/// Arguments of `subject show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Subject id or label
    pub subject: String,
    #[command(flatten)]
    pub project: ProjectArg,
}

/// Arguments of `subject delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Subject id or label
    #[arg(required_unless_present = "batch", conflicts_with = "batch")]
    pub subject: Option<String>,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Read subject ids from FILE (`-` for stdin): one per line or a JSON array
    #[arg(long, value_name = "FILE")]
    pub batch: Option<PathBuf>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Arguments of `subject share`.
#[derive(Debug, Args)]
pub struct ShareArgs {
    /// Subject id or label
    pub subject: String,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Project to share into
    #[arg(long, value_name = "PROJECT")]
    pub into: String,
    /// Label of the subject in the target project
    #[arg(long)]
    pub label: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Arguments of `subject unshare`.
#[derive(Debug, Args)]
pub struct UnshareArgs {
    /// Subject id or label
    pub subject: String,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Project to remove the share from
    #[arg(long, value_name = "PROJECT")]
    pub from: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run a `subject` subcommand.
pub async fn run(cmd: SubjectCommand, ctx: &Context) -> Result<()> {
    match cmd {
        SubjectCommand::List(a) => list(a, ctx).await,
        SubjectCommand::Show(a) => show(a, ctx).await,
        SubjectCommand::Delete(a) => delete(a, ctx).await,
        SubjectCommand::Rename(a) => rename::run(a, ctx).await,
        SubjectCommand::Share(a) => share(a, ctx).await,
        SubjectCommand::Unshare(a) => unshare(a, ctx).await,
        SubjectCommand::Vars(a) => vars::run(a, ctx).await,
    }
}

fn targets_sessions(field: &str) -> bool {
    field == "sessions"
}

async fn list(a: ListCmd, ctx: &Context) -> Result<()> {
    let project = ctx.require_project(a.project.project.as_deref())?;
    let controls = a.list.controls()?;
    let quiet = ctx.output_options().quiet;
    let wants_sessions = controls.filters.iter().any(|(f, _)| targets_sessions(f))
        || controls
            .sort
            .as_ref()
            .is_some_and(|(f, _)| targets_sessions(f));
    if quiet && wants_sessions {
        return Err(Error::usage(
            "session counts are not computed with --quiet; drop the sessions filter or sort",
        ));
    }
    let client = ctx.client().await?;
    // Counting sessions needs to know the project size, so it reads the whole set.
    let fetch = if quiet {
        Fetch::for_controls(controls.needs_full_set(), controls.limit)
    } else {
        Fetch::Whole
    };
    let mut rows = subjects::list(client, &project, fetch).await?;
    let mut columns = vec![("id", "ID"), ("label", "Label")];
    if !quiet {
        subjects::count_sessions(client, &project, &mut rows).await;
        columns.push(("sessions", "Sessions"));
    }
    let l = listing(to_rows(&rows)?, &columns, "id", &controls)?;
    print_listing(ctx, &l)
}

async fn show(a: ShowArgs, ctx: &Context) -> Result<()> {
    let project = ctx.require_project(a.project.project.as_deref())?;
    validate_subject_id(&a.subject)?;
    let (detail, warnings) = subjects::show(ctx.client().await?, &project, &a.subject).await?;
    for w in warnings {
        ctx.messages().warn(&w);
    }
    print_record(ctx, &detail, "id", &[("id", "ID")])
}

/// Run `op` for each id on a bounded pool; single ids keep their typed error, batches print a
/// per-item summary and fail with `Error::Batch` when any item failed.
pub(crate) async fn for_each_id<'a, F, Fut>(
    ctx: &Context,
    ids: &'a [String],
    batch: bool,
    op: F,
) -> Result<()>
where
    F: Fn(&'a str) -> Fut,
    Fut: std::future::Future<Output = Result<String>>,
{
    if !batch {
        let msg = op(&ids[0]).await?;
        ctx.messages().success(&msg);
        return Ok(());
    }
    let outcomes: Vec<(&str, Result<String>)> = futures::stream::iter(
        ids.iter()
            .map(|id| async { (id.as_str(), op(id.as_str()).await) }),
    )
    .buffer_unordered(BATCH_WORKERS)
    .collect()
    .await;
    let mut failed = Vec::new();
    for id in ids {
        if let Some((_, r)) = outcomes.iter().find(|(i, _)| *i == id.as_str()) {
            match r {
                Ok(msg) => ctx.messages().success(msg),
                Err(e) => failed.push(format!("{id}: {e}")),
            }
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    ctx.messages().warn(&format!(
        "{} of {} item(s) failed:",
        failed.len(),
        ids.len()
    ));
    for f in &failed {
        ctx.messages().warn(&format!("  - {f}"));
    }
    Err(Error::Batch {
        failed: failed.len(),
        total: ids.len(),
    })
}

/// The ids of a single-or-batch command, all validated before anything runs.
pub(crate) fn collect_ids(
    single: Option<&str>,
    batch: Option<&PathBuf>,
    confirm: &ConfirmArgs,
) -> Result<Vec<String>> {
    let ids = match (single, batch) {
        (Some(s), None) => vec![s.to_string()],
        (None, Some(f)) => read_batch(f, confirm.yes || confirm.dry_run)?,
        _ => {
            return Err(Error::usage(
                "give exactly one of SUBJECT_ID or --batch FILE",
            ))
        }
    };
    for id in &ids {
        validate_subject_id(id)?;
    }
    Ok(ids)
}

async fn delete(a: DeleteArgs, ctx: &Context) -> Result<()> {
    let project = ctx.require_project(a.project.project.as_deref())?;
    let ids = collect_ids(a.subject.as_deref(), a.batch.as_ref(), &a.confirm)?;
    let go = ctx.confirm(
        "Delete this subject and all its sessions?",
        a.confirm.yes,
        a.confirm.dry_run,
    )?;
    let mut rec = AuditRecord::new("subject delete");
    rec.project = Some(project.clone());
    rec.dry_run = !go;
    if ids.len() == 1 && a.batch.is_none() {
        rec.subject = Some(ids[0].clone());
    } else {
        rec.detail("subjects", Value::from(ids.clone()));
    }
    let result = async {
        if !go {
            for id in &ids {
                ctx.messages().dry_run(&format!(
                    "Would delete subject: {id} from project: {project}"
                ));
            }
            return Ok(());
        }
        let client = ctx.client().await?;
        let project = project.as_str();
        for_each_id(ctx, &ids, a.batch.is_some(), |id| async move {
            subjects::delete(client, project, id).await?;
            Ok(format!("Deleted subject: {id}"))
        })
        .await
    }
    .await;
    audited(ctx, rec, result)
}

async fn share(a: ShareArgs, ctx: &Context) -> Result<()> {
    let project = ctx.require_project(a.project.project.as_deref())?;
    validate_subject_id(&a.subject)?;
    let go = ctx.confirm(
        "Share this subject into another project?",
        a.confirm.yes,
        a.confirm.dry_run,
    )?;
    let mut rec = AuditRecord::new("subject share");
    rec.project = Some(project.clone());
    rec.subject = Some(a.subject.clone());
    rec.dry_run = !go;
    rec.detail("into", Value::from(a.into.clone()));
    if let Some(l) = &a.label {
        rec.detail("label", Value::from(l.clone()));
    }
    let result = async {
        let client = ctx.client().await?;
        let r = subjects::resolve(client, &project, &a.subject).await?;
        if !go {
            let as_label = a
                .label
                .as_ref()
                .map(|l| format!(" as '{l}'"))
                .unwrap_or_default();
            ctx.messages().dry_run(&format!(
                "Would share subject {} into {}{as_label}",
                r.id, a.into
            ));
            return Ok(());
        }
        subjects::share(client, &r.id, &a.into, a.label.as_deref()).await?;
        ctx.messages()
            .success(&format!("Shared subject {} into {}", r.label, a.into));
        Ok(())
    }
    .await;
    audited(ctx, rec, result)
}

async fn unshare(a: UnshareArgs, ctx: &Context) -> Result<()> {
    let project = ctx.require_project(a.project.project.as_deref())?;
    validate_subject_id(&a.subject)?;
    let go = ctx.confirm(
        "Remove this subject's share from another project?",
        a.confirm.yes,
        a.confirm.dry_run,
    )?;
    let mut rec = AuditRecord::new("subject unshare");
    rec.project = Some(project.clone());
    rec.subject = Some(a.subject.clone());
    rec.dry_run = !go;
    rec.detail("from", Value::from(a.from.clone()));
    let result = async {
        let client = ctx.client().await?;
        let r = subjects::resolve(client, &project, &a.subject).await?;
        let from = subjects::check_unshare(&r, &a.from)?;
        if !go {
            ctx.messages()
                .dry_run(&format!("Would unshare subject {} from {from}", r.id));
            return Ok(());
        }
        subjects::unshare(client, &r, &from).await?;
        ctx.messages()
            .success(&format!("Unshared subject {} from {from}", r.label));
        Ok(())
    }
    .await;
    audited(ctx, rec, result)
}
