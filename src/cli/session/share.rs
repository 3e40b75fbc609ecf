//! `session share` / `session unshare`: add or remove a session's share in another project.

use clap::Args;
use serde_json::json;

use super::SessionRef;
use crate::cli::shared::ConfirmArgs;
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

fn record(
    op: &str,
    project: Option<&str>,
    session: &str,
    target: &str,
    dry_run: bool,
) -> AuditRecord {
    let mut r = AuditRecord::new(op);
    r.project = project.map(str::to_string);
    r.session = Some(session.to_string());
    r.dry_run = dry_run;
    r.detail("target_project", json!(target));
    r
}

/// Run `session share`.
pub async fn run_share(a: ShareArgs, ctx: &Context) -> Result<()> {
    let into = validate_project_id(&a.into)?;
    let go = ctx.confirm(
        "Share this session into another project?",
        a.confirm.yes,
        a.confirm.dry_run,
    )?;
    let project = ctx.project_or_default(a.session.project.as_deref());
    let mut rec = record(
        "session share",
        project.as_deref(),
        &a.session.experiment,
        &into,
        !go,
    );
    if let Some(l) = &a.label {
        rec.detail("label", json!(l));
    }
    let result = async {
        let client = ctx.client().await?;
        let e = experiments::resolve(client, project.as_deref(), &a.session.experiment).await?;
        if go {
            sessions::share(client, &e, &into, a.label.as_deref()).await?;
        }
        Ok::<_, crate::core::Error>(e)
    }
    .await;
    finish(ctx, rec, &result);
    let e = result?;
    if go {
        ctx.messages()
            .success(&format!("Shared {} into {into}", e.id));
    } else {
        ctx.messages()
            .dry_run(&format!("would share {} into {into}", e.id));
    }
    Ok(())
}

/// Run `session unshare`.
pub async fn run_unshare(a: UnshareArgs, ctx: &Context) -> Result<()> {
    let from = validate_project_id(&a.from)?;
    let go = ctx.confirm(
        "Remove this session's share from another project?",
        a.confirm.yes,
        a.confirm.dry_run,
    )?;
    let project = ctx.project_or_default(a.session.project.as_deref());
    let rec = record(
        "session unshare",
        project.as_deref(),
        &a.session.experiment,
        &from,
        !go,
    );
    let result = async {
        let client = ctx.client().await?;
        let e = experiments::resolve(client, project.as_deref(), &a.session.experiment).await?;
        sessions::check_unshare(&e, &from)?;
        if go {
            sessions::unshare(client, &e, &from).await?;
        }
        Ok::<_, crate::core::Error>(e)
    }
    .await;
    finish(ctx, rec, &result);
    let e = result?;
    if go {
        ctx.messages()
            .success(&format!("Removed the share of {} from {from}", e.id));
    } else {
        ctx.messages()
            .dry_run(&format!("would remove the share of {} from {from}", e.id));
    }
    Ok(())
}

fn finish<T>(ctx: &Context, mut rec: AuditRecord, result: &Result<T>) {
    rec.success = result.is_ok();
    if let Err(e) = result {
        rec.error = Some(e.to_string());
    }
    ctx.audit(rec);
}
