//! `xnatctl xsync list|setup|status|history|progress|sync|sync-subject|refresh-credentials`:
//! the XSync plugin (services::xsync).

use clap::{Args, Subcommand};
use serde_json::Value;

use super::Context;
use crate::cli::shared::input::{password_from_stdin, password_or_prompt, refuse_password_flag};
use crate::cli::shared::{mutate, ConfirmArgs, ListArgs, ProjectArg, SessionRef};
use crate::core::audit::AuditRecord;
use crate::core::output::ListControls;
use crate::core::validation::validate_project_id;
use crate::core::{env, Error, Result};
use crate::services::experiments;
use crate::services::xsync::{self, Doc, Refresh, RefreshRow};

/// The `xsync` subcommands.
#[derive(Debug, Subcommand)]
pub enum XsyncCommand {
    /// List the remote XNATs this site syncs to (admins)
    List(ListCmd),
    /// Show a project's XSync configuration
    Setup(ProjectCmd),
    /// Show a project's running or last sync
    Status(ProjectCmd),
    /// List a project's finished syncs
    History(ProjectCmd),
    /// Print a project's sync log
    Progress(ProjectCmd),
    /// Start a sync of a project
    Sync(SyncCmd),
    /// Sync one experiment (accession ID, or label with -P)
    SyncSubject(SyncSubjectCmd),
    /// Get a new alias token from the remote XNAT and store it for XSync
    RefreshCredentials(RefreshCmd),
}

/// Arguments of `xsync list`.
#[derive(Debug, Args)]
pub struct ListCmd {
    #[command(flatten)]
    pub list: ListArgs,
}

/// A project (the profile's default fills in).
#[derive(Debug, Args)]
pub struct ProjectCmd {
    #[command(flatten)]
    pub project: ProjectArg,
}

/// Arguments of `xsync sync`.
#[derive(Debug, Args)]
pub struct SyncCmd {
    #[command(flatten)]
    pub project: ProjectArg,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Arguments of `xsync sync-subject`.
#[derive(Debug, Args)]
pub struct SyncSubjectCmd {
    #[command(flatten)]
    pub session: SessionRef,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Arguments of `xsync refresh-credentials`.
#[derive(Debug, Args)]
pub struct RefreshCmd {
    #[command(flatten)]
    pub project: ProjectArg,
    /// Every project XSync sends to --remote-url
    #[arg(long, conflicts_with = "project")]
    pub all: bool,
    /// Remote XNAT URL
    #[arg(long, value_name = "URL")]
    pub remote_url: String,
    /// Remote XNAT user
    #[arg(long, value_name = "USER")]
    pub remote_user: String,
    /// Read the remote password from the first line of stdin (else XNAT_XSYNC_REMOTE_PASS, else a prompt)
    #[arg(long)]
    pub remote_pass_stdin: bool,
    /// Refused: a password on the command line is visible to other users
    #[arg(long, hide = true, value_name = "PASSWORD")]
    pub remote_pass: Option<String>,
    /// Local project (default: the project)
    #[arg(long, value_name = "PROJECT")]
    pub local_project: Option<String>,
    /// Remote project (default: the project, or the one XSync is bound to with --all)
    #[arg(long, value_name = "PROJECT")]
    pub remote_project: Option<String>,
    /// Sync only data new since the last sync
    #[arg(long, overrides_with = "no_sync_new_only", default_value_t = true)]
    pub sync_new_only: bool,
    /// Sync everything
    #[arg(long)]
    pub no_sync_new_only: bool,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run an `xsync` subcommand.
pub async fn run(cmd: XsyncCommand, ctx: &Context) -> Result<()> {
    match cmd {
        XsyncCommand::List(a) => {
            let controls = a.list.controls()?;
            let v = xsync::list(ctx.client().await?).await?;
            ctx.out().document(&v, &controls)
        }
        XsyncCommand::Setup(a) => doc(a, Doc::Setup, ctx).await,
        XsyncCommand::Status(a) => doc(a, Doc::Status, ctx).await,
        XsyncCommand::History(a) => doc(a, Doc::History, ctx).await,
        XsyncCommand::Progress(a) => {
            let project = validate_project_id(&a.project.require(ctx)?)?;
            let text = xsync::progress(ctx.client().await?, &project).await?;
            if text.is_empty() || text.ends_with('\n') {
                ctx.out().raw(&text)
            } else {
                ctx.out().line(&text)
            }
        }
        XsyncCommand::Sync(a) => sync(a, ctx).await,
        XsyncCommand::SyncSubject(a) => sync_subject(a, ctx).await,
        XsyncCommand::RefreshCredentials(a) => refresh(a, ctx).await,
    }
}

async fn doc(a: ProjectCmd, which: Doc, ctx: &Context) -> Result<()> {
    let project = validate_project_id(&a.project.require(ctx)?)?;
    let v = xsync::document(ctx.client().await?, which, &project).await?;
    // One object (a setup, a status) prints as key/value lines in a table.
    match &v {
        Value::Object(m) if !ctx.is_json() => {
            let rows = Value::Array(vec![Value::Object(m.clone())]);
            ctx.out().document(&rows, &ListControls::default())
        }
        _ => ctx.out().document(&v, &ListControls::default()),
    }
}

async fn sync(a: SyncCmd, ctx: &Context) -> Result<()> {
    let project = validate_project_id(&a.project.require(ctx)?)?;
    let mut rec = AuditRecord::new("xsync sync");
    rec.project = Some(project.clone());
    let question = "Trigger an XSync run for this project?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        if !mode.apply() {
            ctx.messages()
                .dry_run(&format!("Would trigger XSync for project {project}"));
            return Ok(());
        }
        let said = xsync::sync(ctx.client().await?, &project).await?;
        ctx.messages().info(said.trim());
        ctx.messages()
            .success(&format!("XSync triggered for {project}"));
        Ok(())
    })
    .await
}

async fn sync_subject(a: SyncSubjectCmd, ctx: &Context) -> Result<()> {
    let given = a.session.experiment.clone();
    let project = a.session.project.or_default(ctx);
    let mut rec = AuditRecord::new("xsync sync-subject");
    rec.project = project.clone();
    rec.session = Some(given.clone());
    let question = "Trigger an XSync run for this subject/experiment?";
    mutate(ctx, question, &a.confirm, rec, |mode, notes| async move {
        let client = ctx.client().await?;
        // The plugin takes an accession ID; a label is resolved in the project first.
        let id = if experiments::looks_like_accession_id(&given) || project.is_none() {
            given.clone()
        } else {
            experiments::resolve(client, project.as_deref(), &given)
                .await?
                .id
        };
        notes.detail("experiment_id", Value::from(id.clone()));
        if !mode.apply() {
            ctx.messages()
                .dry_run(&format!("Would trigger XSync for experiment {id}"));
            return Ok(());
        }
        let said = xsync::sync_experiment(client, &id).await?;
        ctx.messages().info(said.trim());
        ctx.messages()
            .success(&format!("XSync triggered for experiment {id}"));
        Ok(())
    })
    .await
}

async fn refresh(a: RefreshCmd, ctx: &Context) -> Result<()> {
    refuse_password_flag(
        &a.remote_pass,
        "--remote-pass",
        "--remote-pass-stdin, XNAT_XSYNC_REMOTE_PASS, or the prompt",
    )?;
    crate::core::validation::validate_server_url(&a.remote_url)?;
    // Read before any prompt, so the confirmation cannot swallow the password line.
    let piped = if a.remote_pass_stdin {
        Some(password_from_stdin()?)
    } else {
        None
    };
    let remote_url = a.remote_url.trim_end_matches('/').to_string();
    let single = if a.all {
        None
    } else {
        Some(validate_project_id(&a.project.require(ctx)?)?)
    };
    let mut rec = AuditRecord::new("xsync refresh-credentials");
    rec.project = single.clone();
    rec.detail("remote_url", Value::from(remote_url.clone()))
        .detail("remote_user", Value::from(a.remote_user.clone()))
        .detail("all", Value::from(a.all));
    let question = "Rotate XSync credentials for this project?";
    mutate(
        ctx,
        question,
        &a.confirm.clone(),
        rec,
        |mode, _| async move {
            let client = ctx.client().await?;
            let single = single.map(|p| {
                (
                    a.local_project.clone().unwrap_or_else(|| p.clone()),
                    a.remote_project.clone().unwrap_or(p),
                )
            });
            let targets = xsync::refresh_targets(client, single, &remote_url).await?;
            let password = if mode.apply() {
                password_or_prompt(
                    piped,
                    std::env::var(env::XNAT_XSYNC_REMOTE_PASS).ok(),
                    "Remote XNAT password: ",
                )?
            } else {
                String::new()
            };
            let mut rows = Vec::new();
            for xsync::Bound { local, remote } in targets {
                let r = Refresh {
                    remote_url: remote_url.clone(),
                    remote_user: a.remote_user.clone(),
                    local_project: local.clone(),
                    remote_project: remote.clone(),
                    sync_new_only: !a.no_sync_new_only,
                };
                let (status, error) = if !mode.apply() {
                    ctx.messages().dry_run(&format!(
                        "Would refresh credentials for {local} (remote project {remote})"
                    ));
                    ("dry_run", None)
                } else {
                    match xsync::refresh(client, &r, &password).await {
                        Ok(msg) => {
                            ctx.messages().success(&msg);
                            ("success", None)
                        }
                        Err(e) => {
                            let msg = e.to_string().replace(&password, "***");
                            ctx.messages()
                                .warn(&format!("Refresh failed for {local}: {msg}"));
                            ("failed", Some(msg))
                        }
                    }
                };
                rows.push(RefreshRow {
                    project: local,
                    remote_project: remote,
                    status: status.into(),
                    error,
                });
            }
            ctx.out().rows(&rows, &ListControls::default())?;
            let failed = rows.iter().filter(|r| r.status == "failed").count();
            if failed > 0 {
                return Err(Error::Batch {
                    failed,
                    total: rows.len(),
                });
            }
            Ok(())
        },
    )
    .await
}
