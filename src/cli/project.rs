//! `xnatctl project list|show|create|access|grant|revoke|users|requests`.
//!
//! Also home of the small helpers the browse groups share: turning typed rows into a
//! [`Listing`], and running a confirmed, audited mutation.

use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::{Map, Value};

use super::common::{ConfirmArgs, ListArgs};
use super::config::out_err;
use super::Context;
use crate::core::audit::AuditRecord;
use crate::core::output::{Column, Listing, Record};
use crate::core::validation::validate_project_id;
use crate::core::{Error, Result};
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
    }
}

/// Serialise typed rows into listing rows.
pub(crate) fn to_rows<T: Serialize>(items: &[T]) -> Result<Vec<Map<String, Value>>> {
    items
        .iter()
        .map(|i| match serde_json::to_value(i) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(Error::Operation("a row is not an object".into())),
            Err(e) => Err(Error::Operation(format!("serialising a row: {e}"))),
        })
        .collect()
}

/// A listing of `rows` with `(key, label)` columns, after the list controls.
pub(crate) fn listing(
    rows: Vec<Map<String, Value>>,
    columns: &[(&str, &str)],
    id_field: &str,
    controls: &crate::core::output::ListControls,
) -> Result<Listing> {
    let mut l = Listing {
        columns: columns.iter().map(|(k, l)| Column::new(*k, *l)).collect(),
        rows,
        id_field: id_field.to_string(),
        title: None,
    };
    controls.apply(&mut l)?;
    Ok(l)
}

/// Print a listing through the one printer.
pub(crate) fn print_listing(ctx: &Context, l: &Listing) -> Result<()> {
    ctx.out().list(l).map_err(out_err)
}

/// Print a typed record with label overrides.
pub(crate) fn print_record<T: Serialize>(
    ctx: &Context,
    value: &T,
    id_field: &str,
    labels: &[(&str, &str)],
) -> Result<()> {
    let fields = match serde_json::to_value(value) {
        Ok(Value::Object(m)) => m,
        _ => return Err(Error::Operation("a record is not an object".into())),
    };
    let mut r = Record::from_map(fields);
    r.id_field = Some(id_field.to_string());
    for (k, l) in labels {
        r.label(*k, *l);
    }
    ctx.out().record(&r).map_err(out_err)
}

/// Write the audit record for a confirmed (or previewed) mutation with its outcome.
pub(crate) fn audited<T>(ctx: &Context, mut rec: AuditRecord, result: Result<T>) -> Result<T> {
    rec.success = result.is_ok();
    if let Err(e) = &result {
        rec.error = Some(e.to_string());
    }
    ctx.audit(rec);
    result
}

async fn list(a: ListCmd, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let fetch = Fetch::for_controls(controls.needs_full_set(), controls.limit);
    let mut rows = projects::list(ctx.client().await?, fetch).await?;
    if ctx.is_json()
        && controls.filters.is_empty()
        && controls.sort.is_none()
        && controls.columns.is_none()
    {
        // Nothing needs generic rows: write the typed rows straight out.
        rows.truncate(controls.limit.unwrap_or(usize::MAX));
        return ctx.out().json_rows(&rows).map_err(out_err);
    }
    // The strings move into the generic rows: one copy of the data, not two.
    let generic = rows
        .into_iter()
        .map(|r| {
            let mut m = Map::with_capacity(4);
            m.insert("id".into(), Value::String(r.id));
            m.insert("name".into(), Value::String(r.name));
            m.insert("pi".into(), Value::String(r.pi));
            m.insert("description".into(), Value::String(r.description));
            m
        })
        .collect();
    let l = listing(
        generic,
        &[
            ("id", "ID"),
            ("name", "Name"),
            ("pi", "PI"),
            ("description", "Description"),
        ],
        "id",
        &controls,
    )?;
    print_listing(ctx, &l)
}

async fn show(a: ShowArgs, ctx: &Context) -> Result<()> {
    validate_project_id(&a.project)?;
    let detail = projects::show(ctx.client().await?, &a.project).await?;
    print_record(
        ctx,
        &detail,
        "id",
        &[("id", "ID"), ("secondary_id", "Secondary ID"), ("pi", "PI")],
    )
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
        return print_record(ctx, &acc, "project", &[]);
    };
    let go = ctx.confirm(
        "Change this project's accessibility level?",
        a.confirm.yes,
        a.confirm.dry_run,
    )?;
    let mut rec = AuditRecord::new("project access");
    rec.project = Some(project.clone());
    rec.dry_run = !go;
    rec.detail("set", Value::from(level.clone()));
    let result = async {
        let client = ctx.client().await?;
        if !go {
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
    }
    .await;
    audited(ctx, rec, result)
}

async fn grant(a: GrantArgs, ctx: &Context) -> Result<()> {
    let project = validate_project_id(&a.project)?;
    let user = projects::validate_login(&a.user)?;
    let go = ctx.confirm(
        "Grant this user access to the project?",
        a.confirm.yes,
        a.confirm.dry_run,
    )?;
    let mut rec = AuditRecord::new("project grant");
    rec.project = Some(project.clone());
    rec.dry_run = !go;
    rec.detail("user", Value::from(user.clone()))
        .detail("role", Value::from(a.role.clone()));
    let result = async {
        if !go {
            ctx.messages().dry_run(&format!(
                "Would grant {user} the {} role on {project}",
                a.role
            ));
            return Ok(());
        }
        projects::grant(ctx.client().await?, &project, &user, &a.role).await?;
        ctx.messages()
            .success(&format!("Granted {user} the {} role on {project}", a.role));
        Ok(())
    }
    .await;
    audited(ctx, rec, result)
}

async fn revoke(a: RevokeArgs, ctx: &Context) -> Result<()> {
    let project = validate_project_id(&a.project)?;
    let user = projects::validate_login(&a.user)?;
    let go = ctx.confirm(
        "Revoke this user's access to the project?",
        a.confirm.yes,
        a.confirm.dry_run,
    )?;
    let mut rec = AuditRecord::new("project revoke");
    rec.project = Some(project.clone());
    rec.dry_run = !go;
    rec.detail("user", Value::from(user.clone()));
    let result = async {
        let client = ctx.client().await?;
        let m = projects::membership(client, &project, &user).await?;
        let roles = m.roles.join(", ");
        if !go {
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
    }
    .await;
    audited(ctx, rec, result)
}

async fn users(a: ShowArgs, ctx: &Context) -> Result<()> {
    let rows = projects::users(ctx.client().await?, &a.project).await?;
    let l = listing(
        to_rows(&rows)?,
        &[
            ("username", "Username"),
            ("role", "Role"),
            ("email", "Email"),
        ],
        "username",
        &Default::default(),
    )?;
    print_listing(ctx, &l)
}

async fn requests(a: ShowArgs, ctx: &Context) -> Result<()> {
    let rows = projects::requests(ctx.client().await?, &a.project).await?;
    let l = listing(
        rows,
        &[
            ("par_id", "ID"),
            ("login", "Approver"),
            ("email", "Requester Email"),
            ("level", "Level"),
            ("create_date", "Requested"),
            ("approved", "Approved"),
        ],
        "par_id",
        &Default::default(),
    )?;
    print_listing(ctx, &l)
}
