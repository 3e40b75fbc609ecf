//! `xnatctl admin audit`: the server's audit log (`GET /xapi/audit`), with `--since` sent (the
//! reference accepts it and drops it).

use clap::Args;

use crate::cli::shared::ListArgs;
use crate::cli::Context;
use crate::core::{Error, Result};
use crate::services::audit_log;

/// Arguments of `admin audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only entries of this project
    #[arg(short = 'P', long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// Only entries of this user
    #[arg(short = 'u', long, value_name = "USER")]
    pub user: Option<String>,
    /// Only entries of this action
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    /// Only entries since this time (sent to the server as `since`)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    #[command(flatten)]
    pub list: ListArgs,
}

/// Run `admin audit`.
pub async fn run(a: AuditArgs, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let filters = [
        ("project", &a.project),
        ("user", &a.user),
        ("action", &a.action),
        ("since", &a.since),
    ];
    for (name, v) in &filters {
        if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(Error::InvalidInput(format!("--{name} must not be empty")));
        }
    }
    // The server limits unless the rows are filtered or sorted here first (as the reference).
    let limit = (a.list.filter.is_empty() && a.list.sort_by.is_none())
        .then(|| a.list.limit.unwrap_or(50).to_string());
    let mut params: Vec<(&str, &str)> = Vec::new();
    if let Some(l) = &limit {
        params.push(("limit", l));
    }
    for (name, v) in &filters {
        if let Some(v) = v {
            params.push((name, v));
        }
    }
    let rows = audit_log::entries(ctx.client().await?, &params).await?;
    if rows.is_empty() {
        ctx.messages().info("No audit entries found");
        return Ok(());
    }
    let mut controls = controls;
    controls.limit = Some(a.list.limit.unwrap_or(50));
    ctx.out().rows(&rows, &controls)
}
