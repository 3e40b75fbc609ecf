//! `xnatctl subject list|show|delete|rename|share|unshare|vars`.
//!
//! The project is required for every verb (`-P`, else the profile's default_project).

mod rename;
mod vars;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::Context;
use crate::cli::shared::batch;
use crate::cli::shared::{mutate, read_batch, ConfirmArgs, ListArgs, Mode, ProjectArg};
use crate::core::audit::AuditRecord;
use crate::core::validation::{validate_subject_id, DEFAULT_WORKERS};
use crate::core::{Error, Result};
use crate::services::projects::Fetch;
use crate::services::subjects;

pub use rename::RenameArgs;
pub use vars::VarsArgs;

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
    // Every row gets its session count, so the whole set is read unless only ids are printed.
    let fetch = if quiet {
        Fetch::for_controls(controls.needs_full_set(), controls.limit)
    } else {
        Fetch::Whole
    };
    let mut rows = subjects::list(client, &project, fetch).await?;
    // `-q` prints ids only, so it needs no counts.
    if !quiet {
        subjects::count_sessions(client, &project, &mut rows).await;
    }
    ctx.out().rows(&rows, &controls)
}

async fn show(a: ShowArgs, ctx: &Context) -> Result<()> {
    let project = ctx.require_project(a.project.project.as_deref())?;
    validate_subject_id(&a.subject)?;
    let (detail, warnings) = subjects::show(ctx.client().await?, &project, &a.subject).await?;
    for w in warnings {
        ctx.messages().warn(&w);
    }
    ctx.out().item(&detail)
}

/// The ids of a single-or-batch command, all validated before anything runs.
pub(crate) fn collect_ids(
    single: Option<&str>,
    batch: Option<&PathBuf>,
    confirm: &ConfirmArgs,
) -> Result<Vec<String>> {
    let ids = match (single, batch) {
        (Some(s), None) => vec![s.to_string()],
        (None, Some(f)) => read_batch(f, confirm.unattended())?,
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
    let mut rec = AuditRecord::new("subject delete");
    rec.project = Some(project.clone());
    if a.batch.is_none() {
        rec.subject = Some(ids[0].clone());
    } else {
        rec.detail("subjects", Value::from(ids.clone()));
    }
    let question = "Delete this subject and all its sessions?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let outcomes = if mode.apply() {
            let client = ctx.client().await?;
            let project = project.as_str();
            batch::run(&ids, DEFAULT_WORKERS, |id| {
                subjects::delete(client, project, id)
            })
            .await
        } else {
            ids.iter().map(|_| Ok(())).collect()
        };
        let wording = batch::Wording {
            item: |id: &str, _: &()| match mode {
                Mode::Apply => format!("Deleted subject: {id}"),
                Mode::Preview => format!("Would delete subject: {id} from project: {project}"),
            },
            done: "Deleted {n} subject(s)",
            preview: "would delete {n} subject(s)",
        };
        batch::report(ctx, &ids, outcomes, mode, a.batch.is_none(), wording)
    })
    .await
}

async fn share(a: ShareArgs, ctx: &Context) -> Result<()> {
    let project = ctx.require_project(a.project.project.as_deref())?;
    validate_subject_id(&a.subject)?;
    let mut rec = AuditRecord::new("subject share");
    rec.project = Some(project.clone());
    rec.subject = Some(a.subject.clone());
    rec.detail("into", Value::from(a.into.clone()));
    if let Some(l) = &a.label {
        rec.detail("label", Value::from(l.clone()));
    }
    let question = "Share this subject into another project?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        let r = subjects::resolve(client, &project, &a.subject).await?;
        if !mode.apply() {
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
    })
    .await
}

async fn unshare(a: UnshareArgs, ctx: &Context) -> Result<()> {
    let project = ctx.require_project(a.project.project.as_deref())?;
    validate_subject_id(&a.subject)?;
    let mut rec = AuditRecord::new("subject unshare");
    rec.project = Some(project.clone());
    rec.subject = Some(a.subject.clone());
    rec.detail("from", Value::from(a.from.clone()));
    let question = "Remove this subject's share from another project?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        let r = subjects::resolve(client, &project, &a.subject).await?;
        let from = subjects::check_unshare(&r, &a.from)?;
        if !mode.apply() {
            ctx.messages()
                .dry_run(&format!("Would unshare subject {} from {from}", r.id));
            return Ok(());
        }
        subjects::unshare(client, &r, &from).await?;
        ctx.messages()
            .success(&format!("Unshared subject {} from {from}", r.label));
        Ok(())
    })
    .await
}
