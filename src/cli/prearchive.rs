//! `prearchive`: list sessions waiting in the prearchive, archive, delete, move or rebuild them,
//! and read or set a project's prearchive routing.
//!
//! Every verb that changes server state asks first (`--yes`, `--dry-run`) and writes an audit
//! record; the reference only did so for `delete` and `settings --set`.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::cli::shared::{mutate, ConfirmArgs, ListArgs, ProjectArg};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::prearchive::{self, ArchiveRequest, OperationResult, PrearchiveRef};

/// Prearchive subcommands.
#[derive(Debug, Subcommand)]
pub enum PrearchiveCommand {
    /// List sessions in the prearchive
    List(ListCmd),
    /// Archive a prearchive session
    Archive(ArchiveCmd),
    /// Delete a session from the prearchive
    Delete(SessionCmd),
    /// Move a prearchive session to another project's prearchive
    Move(MoveCmd),
    /// Rebuild a prearchive session from its DICOM
    Rebuild(SessionCmd),
    /// Show or set a project's prearchive routing (manual, auto-archive, auto-archive-overwrite)
    Settings(SettingsCmd),
}

/// `prearchive list`.
#[derive(Debug, Args)]
pub struct ListCmd {
    /// Only this project's sessions
    #[arg(short = 'P', long, value_name = "PROJECT")]
    pub project: Option<String>,
    #[command(flatten)]
    pub list: ListArgs,
}

/// The address of one prearchive session.
#[derive(Debug, Args)]
pub struct SessionAddr {
    /// Project (or Unassigned)
    #[arg(value_name = "PROJECT")]
    pub project: String,
    /// Upload timestamp folder (yyyyMMdd_HHmmssSSS)
    #[arg(value_name = "TIMESTAMP")]
    pub timestamp: String,
    /// Session folder name
    #[arg(value_name = "SESSION")]
    pub session: String,
}

impl SessionAddr {
    fn resolve(&self) -> Result<PrearchiveRef> {
        PrearchiveRef::new(&self.project, &self.timestamp, &self.session)
    }
}

/// `prearchive delete|rebuild`.
#[derive(Debug, Args)]
pub struct SessionCmd {
    #[command(flatten)]
    pub addr: SessionAddr,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// `prearchive move`.
#[derive(Debug, Args)]
pub struct MoveCmd {
    #[command(flatten)]
    pub addr: SessionAddr,
    /// Destination project
    #[arg(value_name = "TARGET")]
    pub target: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// `prearchive archive`.
#[derive(Debug, Args)]
pub struct ArchiveCmd {
    #[command(flatten)]
    pub addr: SessionAddr,
    /// Subject label to archive under
    #[arg(long, value_name = "SUBJECT")]
    pub subject: Option<String>,
    /// Experiment label to archive as (needs a subject, read from the session when not given)
    #[arg(long, value_name = "LABEL")]
    pub label: Option<String>,
    /// Replace an existing archived session (asks first)
    #[arg(long)]
    pub overwrite: bool,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// `prearchive settings`.
#[derive(Debug, Args)]
pub struct SettingsCmd {
    #[command(flatten)]
    pub project: ProjectArg,
    /// New routing: manual, auto-archive or auto-archive-overwrite
    #[arg(long, value_name = "MODE", value_parser = ["manual", "auto-archive", "auto-archive-overwrite"])]
    pub set: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run a prearchive subcommand.
pub async fn run(cmd: PrearchiveCommand, ctx: &Context) -> Result<()> {
    match cmd {
        PrearchiveCommand::List(a) => list(a, ctx).await,
        PrearchiveCommand::Archive(a) => archive(a, ctx).await,
        PrearchiveCommand::Delete(a) => delete(a, ctx).await,
        PrearchiveCommand::Move(a) => move_to(a, ctx).await,
        PrearchiveCommand::Rebuild(a) => rebuild(a, ctx).await,
        PrearchiveCommand::Settings(a) => settings(a, ctx).await,
    }
}

async fn list(a: ListCmd, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let client = ctx.client().await?;
    let rows = prearchive::list(client, a.project.as_deref()).await?;
    ctx.out().rows(&rows, &controls)
}

/// Confirm, run, audit and print one operation on a prearchived session.
async fn gated<F>(
    ctx: &Context,
    operation: &str,
    question: &str,
    confirm: &ConfirmArgs,
    src: &PrearchiveRef,
    details: &[(&str, Value)],
    run: F,
) -> Result<()>
where
    F: std::future::Future<Output = Result<OperationResult>>,
{
    let mut record = AuditRecord::new(format!("prearchive {operation}"));
    record.project = Some(src.project.clone());
    record.session = Some(src.session.clone());
    record.detail("timestamp", json!(src.timestamp));
    for (k, v) in details {
        record.detail(*k, v.clone());
    }
    mutate(ctx, question, confirm, record, |mode, _| async move {
        if !mode.apply() {
            ctx.messages().dry_run(&format!(
                "would {operation} {}/{}/{}",
                src.project, src.timestamp, src.session
            ));
            return Ok(());
        }
        let done = run.await?;
        ctx.out().item(&done)
    })
    .await
}

async fn archive(a: ArchiveCmd, ctx: &Context) -> Result<()> {
    let src = a.addr.resolve()?;
    let req = ArchiveRequest {
        src: src.clone(),
        subject: a.subject.clone(),
        label: a.label.clone(),
        overwrite: a.overwrite,
    };
    // Archiving only adds data unless --overwrite replaces an existing session.
    let confirm = ConfirmArgs {
        yes: a.confirm.yes || !a.overwrite,
        dry_run: a.confirm.dry_run,
    };
    let client = ctx.client().await?;
    let details = [
        ("subject", json!(a.subject)),
        ("label", json!(a.label)),
        ("overwrite", json!(a.overwrite)),
    ];
    gated(
        ctx,
        "archive",
        "Archive this session, replacing the existing archived session?",
        &confirm,
        &src,
        &details,
        prearchive::archive(client, &req),
    )
    .await?;
    if !a.confirm.dry_run {
        ctx.messages()
            .success(&format!("Archived {} from prearchive", src.session));
    }
    Ok(())
}

async fn delete(a: SessionCmd, ctx: &Context) -> Result<()> {
    let src = a.addr.resolve()?;
    let client = ctx.client().await?;
    gated(
        ctx,
        "delete",
        "Delete session from prearchive? This cannot be undone.",
        &a.confirm,
        &src,
        &[],
        prearchive::delete(client, &src),
    )
    .await?;
    if !a.confirm.dry_run {
        ctx.messages()
            .success(&format!("Deleted {} from prearchive", src.session));
    }
    Ok(())
}

async fn move_to(a: MoveCmd, ctx: &Context) -> Result<()> {
    let src = a.addr.resolve()?;
    let client = ctx.client().await?;
    gated(
        ctx,
        "move",
        &format!("Move this prearchive session to project {}?", a.target),
        &a.confirm,
        &src,
        &[("target", json!(a.target))],
        prearchive::move_to(client, &src, &a.target),
    )
    .await?;
    if !a.confirm.dry_run {
        ctx.messages()
            .success(&format!("Moved {} to {}", src.session, a.target));
    }
    Ok(())
}

async fn rebuild(a: SessionCmd, ctx: &Context) -> Result<()> {
    let src = a.addr.resolve()?;
    let client = ctx.client().await?;
    gated(
        ctx,
        "rebuild",
        "Rebuild this prearchive session from its files?",
        &a.confirm,
        &src,
        &[],
        prearchive::rebuild(client, &src),
    )
    .await?;
    if !a.confirm.dry_run {
        ctx.messages().success(&format!("Rebuilt {}", src.session));
    }
    Ok(())
}

async fn settings(a: SettingsCmd, ctx: &Context) -> Result<()> {
    let project = a.project.require(ctx)?;
    let project = crate::core::validation::validate_project_id(&project)?;
    let setting = match &a.set {
        None => {
            let client = ctx.client().await?;
            let s = prearchive::get_setting(client, &project).await?;
            if s.mode.starts_with("unrecognized") {
                ctx.messages().warn(&format!(
                    "{project} has prearchive code {}, which xnatctl does not know",
                    s.code
                ));
            }
            s
        }
        Some(mode) => {
            let code = prearchive::mode_code(mode).unwrap_or(0);
            let mut record = AuditRecord::new("prearchive settings");
            record.project = Some(project.clone());
            record.detail("set", json!(mode));
            let question = format!("Set {project} prearchive routing to {mode}?");
            let set = mutate(ctx, &question, &a.confirm, record, |m, _| async move {
                if !m.apply() {
                    ctx.messages().dry_run(&format!(
                        "would set {project} prearchive routing to {mode} (code {code})"
                    ));
                    return Ok(None);
                }
                let s = prearchive::set_setting(ctx.client().await?, &project, mode).await?;
                ctx.messages()
                    .success(&format!("Set {project} prearchive routing to {mode}"));
                Ok(Some(s))
            })
            .await?;
            match set {
                Some(s) => s,
                None => return Ok(()),
            }
        }
    };
    ctx.out().item(&setting)
}
