//! `xnatctl wrapper enable|disable COMMAND WRAPPER [-P P]`: the pair must exist (and the
//! project, with `-P`), then `PUT /xapi/wrappers/{id}/enabled|disabled` or
//! `PUT /xapi/projects/{p}/wrappers/{id}/enabled|disabled`.

use clap::Args;
use serde_json::Value;

use crate::cli::shared::{mutate, ConfirmArgs};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::commands::{self, Scope};

/// Arguments of `wrapper enable` and `wrapper disable`.
#[derive(Debug, Args)]
pub struct ToggleArgs {
    /// Command id
    #[arg(value_name = "COMMAND_ID")]
    pub command: u64,
    /// Wrapper id or name (on that command)
    #[arg(value_name = "WRAPPER")]
    pub wrapper: String,
    /// For this project only (default: site-wide)
    #[arg(short = 'P', long = "project", value_name = "PROJECT")]
    pub project: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `wrapper enable` (`on`) or `wrapper disable`.
pub async fn run(a: ToggleArgs, on: bool, ctx: &Context) -> Result<()> {
    let verb = if on { "enable" } else { "disable" };
    let scope = Scope::of(a.project.as_deref());
    let mut rec = AuditRecord::new(format!("wrapper {verb}"));
    rec.project = a.project.clone();
    rec.detail("command", Value::from(a.command))
        .detail("wrapper", Value::from(a.wrapper.clone()));
    let question = format!("{}this wrapper?", if on { "Enable " } else { "Disable " });
    let (cid, wrapper) = (a.command, a.wrapper);
    mutate(ctx, &question, &a.confirm, rec, |mode, notes| async move {
        let client = ctx.client().await?;
        let w = commands::wrapper_of(client, cid, &wrapper).await?;
        if let Some(p) = scope.project() {
            commands::ensure_project(client, p).await?;
        }
        notes.detail("wrapper_id", Value::from(w.id()));
        let what = format!("wrapper {} on command {cid} ({})", w.id(), scope.label());
        if !mode.apply() {
            ctx.messages().dry_run(&format!("Would {verb} {what}"));
            return Ok(());
        }
        commands::set_enabled(client, &scope, w.id(), on).await?;
        let done = if on { "Enabled" } else { "Disabled" };
        ctx.messages().success(&format!("{done} {what}"));
        Ok(())
    })
    .await
}
