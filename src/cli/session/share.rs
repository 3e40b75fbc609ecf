//! `session share` / `session unshare`: add or remove a session's share in another project.

use clap::Args;
use serde_json::json;

use crate::cli::shared::{mutate, ConfirmArgs, SessionRef};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::validation::validate_project_id;
use crate::core::Result;
use crate::services::{experiments, sessions};

/// `session share`.
#[derive(Debug, Args)]
pub struct ShareArgs {
    #[command(flatten)]
    pub session: SessionRef,
    /// Project to share into
    #[arg(long, value_name = "PROJECT")]
    pub into: String,
    /// Label of the session in that project (default: the same label)
    #[arg(long, value_name = "LABEL")]
    pub label: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// `session unshare`.
#[derive(Debug, Args)]
pub struct UnshareArgs {
    #[command(flatten)]
    pub session: SessionRef,
    /// Project to remove the share from
    #[arg(long, value_name = "PROJECT")]
    pub from: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

fn record(op: &str, project: Option<&str>, session: &str, target: &str) -> AuditRecord {
    let mut r = AuditRecord::new(op);
    r.project = project.map(str::to_string);
    r.session = Some(session.to_string());
    r.detail("target_project", json!(target));
    r
}

/// Run `session share`.
pub async fn run_share(a: ShareArgs, ctx: &Context) -> Result<()> {
    let into = validate_project_id(&a.into)?;
    let project = a.session.project.or_default(ctx);
    let experiment = &a.session.experiment;
    let mut rec = record("session share", project.as_deref(), experiment, &into);
    if let Some(l) = &a.label {
        rec.detail("label", json!(l));
    }
    let question = "Share this session into another project?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        let e = experiments::resolve(client, project.as_deref(), experiment).await?;
        if !mode.apply() {
            ctx.messages()
                .dry_run(&format!("would share {} into {into}", e.id));
            return Ok(());
        }
        sessions::share(client, &e, &into, a.label.as_deref()).await?;
        ctx.messages()
            .success(&format!("Shared {} into {into}", e.id));
        Ok(())
    })
    .await
}

/// Run `session unshare`.
pub async fn run_unshare(a: UnshareArgs, ctx: &Context) -> Result<()> {
    let from = validate_project_id(&a.from)?;
    let project = a.session.project.or_default(ctx);
    let experiment = &a.session.experiment;
    let rec = record("session unshare", project.as_deref(), experiment, &from);
    let question = "Remove this session's share from another project?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        let e = experiments::resolve(client, project.as_deref(), experiment).await?;
        sessions::check_unshare(&e, &from)?;
        if !mode.apply() {
            ctx.messages()
                .dry_run(&format!("would remove the share of {} from {from}", e.id));
            return Ok(());
        }
        sessions::unshare(client, &e, &from).await?;
        ctx.messages()
            .success(&format!("Removed the share of {} from {from}", e.id));
        Ok(())
    })
    .await
}
