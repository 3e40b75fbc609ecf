//! `xnatctl project list|show|create|access|grant|revoke|users|requests`, and the transfer
//! verbs in `project/` (`transfer`, `transfer-init`, `transfer-check`, `transfer-status`,
//! `transfer-history`).

mod pull;
mod transfer;
mod transfer_check;
mod transfer_init;
mod transfer_status;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::Context;
use crate::cli::shared::{mutate, ConfirmArgs, ListArgs};
use crate::core::audit::AuditRecord;
use crate::core::output::ListControls;
use crate::core::validation::validate_project_id;
use crate::core::Result;
use crate::services::projects::{self, Fetch, NewProject};

/// The `project` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// List the projects you can see
    List(ListCmd),
    /// Show one project with its subject and session counts
    Show(ShowArgs),
    /// Create a project
    Create(CreateArgs),
    /// Show or change (`--set`) a project's accessibility
    Access(AccessArgs),
    /// Give a user a role on a project
    Grant(GrantArgs),
    /// Remove a user from every role on a project
    Revoke(RevokeArgs),
    /// List a project's users and their roles
    Users(ShowArgs),
    /// List a project's access requests
    Requests(ShowArgs),
    /// Copy a project to another XNAT, incrementally (only what is new or changed)
    Transfer(transfer::TransferArgs),
    /// Print (or write with -f) a transfer configuration scaffold
    TransferInit(transfer_init::TransferInitArgs),
    /// Check both servers, logins and projects before a transfer (writes nothing)
    TransferCheck(transfer_check::TransferCheckArgs),
    /// Show the latest transfer of a project from the local journal
    TransferStatus(transfer_status::TransferStatusArgs),
    /// List the transfers of a project from the local journal
    TransferHistory(transfer_status::TransferHistoryArgs),
    /// Mirror a project into a folder, incrementally, every file verified
    Pull(pull::PullArgs),
}

/// Arguments of `project list`.
#[derive(Debug, Args)]
pub struct ListCmd {
    #[command(flatten)]
    pub list: ListArgs,
}

/// A single project id.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Project id
    pub project: String,
}

/// Arguments of `project create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Project id (letters, digits, `_` and `-`)
    pub project: String,
    /// Display name (defaults to the id)
    #[arg(long)]
    pub name: Option<String>,
    /// Description
    #[arg(long)]
    pub description: Option<String>,
    /// PI last name
    #[arg(long, value_name = "LAST")]
    pub pi: Option<String>,
    /// Who may see the project
    #[arg(long, default_value = "private", value_parser = ["public", "protected", "private"])]
    pub accessibility: String,
}

/// Arguments of `project access`.
#[derive(Debug, Args)]
pub struct AccessArgs {
    /// Project id
    pub project: String,
    /// Change the level (asks first)
    #[arg(long, value_name = "LEVEL", value_parser = ["public", "protected", "private"])]
    pub set: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Arguments of `project grant`.
#[derive(Debug, Args)]
pub struct GrantArgs {
    /// Project id
    pub project: String,
    /// User login
    pub user: String,
    /// Role to give
    #[arg(long, value_parser = ["owner", "member", "collaborator"])]
    pub role: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Arguments of `project revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Project id
    pub project: String,
    /// User login (matched case-insensitively)
    pub user: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run a `project` subcommand.
pub async fn run(cmd: ProjectCommand, ctx: &Context) -> Result<()> {
    match cmd {
        ProjectCommand::List(a) => list(a, ctx).await,
        ProjectCommand::Show(a) => show(a, ctx).await,
        ProjectCommand::Create(a) => create(a, ctx).await,
        ProjectCommand::Access(a) => access(a, ctx).await,
        ProjectCommand::Grant(a) => grant(a, ctx).await,
        ProjectCommand::Revoke(a) => revoke(a, ctx).await,
        ProjectCommand::Users(a) => users(a, ctx).await,
        ProjectCommand::Requests(a) => requests(a, ctx).await,
        ProjectCommand::Transfer(a) => transfer::run(a, ctx).await,
        ProjectCommand::TransferInit(a) => transfer_init::run(a, ctx).await,
        ProjectCommand::TransferCheck(a) => transfer_check::run(a, ctx).await,
        ProjectCommand::TransferStatus(a) => transfer_status::status(a, ctx).await,
        ProjectCommand::TransferHistory(a) => transfer_status::history(a, ctx).await,
        ProjectCommand::Pull(a) => pull::run(a, ctx).await,
    }
}

async fn list(a: ListCmd, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let fetch = Fetch::for_controls(controls.needs_full_set(), controls.limit);
    let rows = projects::list(ctx.client().await?, fetch).await?;
    ctx.out().rows(&rows, &controls)
}

async fn show(a: ShowArgs, ctx: &Context) -> Result<()> {
    validate_project_id(&a.project)?;
    let detail = projects::show(ctx.client().await?, &a.project).await?;
    ctx.out().item(&detail)
}

async fn create(a: CreateArgs, ctx: &Context) -> Result<()> {
    let id = validate_project_id(&a.project)?;
    let new = NewProject {
        id: id.clone(),
        name: a.name,
        description: a.description,
        pi: a.pi,
        accessibility: a.accessibility,
    };
    projects::create(ctx.client().await?, &new).await?;
    ctx.messages().success(&format!("Project created: {id}"));
    Ok(())
}

async fn access(a: AccessArgs, ctx: &Context) -> Result<()> {
    let project = validate_project_id(&a.project)?;
    let Some(level) = a.set else {
        let acc = projects::get_access(ctx.client().await?, &project).await?;
        return ctx.out().item(&acc);
    };
    let mut rec = AuditRecord::new("project access");
    rec.project = Some(project.clone());
    rec.detail("set", Value::from(level.clone()));
    let question = "Change this project's accessibility level?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        if !mode.apply() {
            let cur = projects::get_access(client, &project).await?;
            ctx.messages().dry_run(&format!(
                "Would set {project} accessibility to {level} (now {})",
                cur.accessibility
            ));
            return Ok(());
        }
        projects::set_access(client, &project, &level).await?;
        ctx.messages()
            .success(&format!("Set {project} accessibility to {level}"));
        Ok(())
    })
    .await
}

async fn grant(a: GrantArgs, ctx: &Context) -> Result<()> {
    let project = validate_project_id(&a.project)?;
    let user = projects::validate_login(&a.user)?;
    let mut rec = AuditRecord::new("project grant");
    rec.project = Some(project.clone());
    rec.detail("user", Value::from(user.clone()))
        .detail("role", Value::from(a.role.clone()));
    let question = "Grant this user access to the project?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let role = &a.role;
        if !mode.apply() {
            ctx.messages()
                .dry_run(&format!("Would grant {user} the {role} role on {project}"));
            return Ok(());
        }
        projects::grant(ctx.client().await?, &project, &user, role).await?;
        ctx.messages()
            .success(&format!("Granted {user} the {role} role on {project}"));
        Ok(())
    })
    .await
}

async fn revoke(a: RevokeArgs, ctx: &Context) -> Result<()> {
    let project = validate_project_id(&a.project)?;
    let user = projects::validate_login(&a.user)?;
    let mut rec = AuditRecord::new("project revoke");
    rec.project = Some(project.clone());
    rec.detail("user", Value::from(user.clone()));
    let question = "Revoke this user's access to the project?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        let m = projects::membership(client, &project, &user).await?;
        let roles = m.roles.join(", ");
        if !mode.apply() {
            ctx.messages().dry_run(&format!(
                "Would revoke {}'s access to {project} (roles: {roles})",
                m.login
            ));
            return Ok(());
        }
        projects::revoke(client, &project, &m).await?;
        ctx.messages().success(&format!(
            "Revoked {}'s access to {project} (removed from: {roles})",
            m.login
        ));
        Ok(())
    })
    .await
}

async fn users(a: ShowArgs, ctx: &Context) -> Result<()> {
    let rows = projects::users(ctx.client().await?, &a.project).await?;
    ctx.out().rows(&rows, &ListControls::default())
}

async fn requests(a: ShowArgs, ctx: &Context) -> Result<()> {
    let rows = projects::requests(ctx.client().await?, &a.project).await?;
    ctx.out().rows(&rows, &ListControls::default())
}
