//! `xnatctl event enable|disable ID`: `POST /xapi/events/subscription/{id}/activate` or
//! `/deactivate` (a dry run checks that the subscription exists).

use clap::Args;
use serde_json::Value;

use crate::cli::shared::args::ConfirmArgs;
use crate::cli::shared::mutate::mutate;
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::events;

/// Arguments of `event enable` and `event disable`.
#[derive(Debug, Args)]
pub struct ToggleArgs {
    /// Subscription id
    #[arg(value_name = "ID")]
    pub id: u64,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `event enable` (`on`) or `event disable`.
pub async fn run(a: ToggleArgs, on: bool, ctx: &Context) -> Result<()> {
    let id = a.id;
    let verb = if on { "enable" } else { "disable" };
    let mut rec = AuditRecord::new(format!("event {verb}"));
    rec.detail("id", Value::from(id));
    let question = if on {
        "Enable this event subscription?"
    } else {
        "Disable this event subscription?"
    };
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        if !mode.apply() {
            events::show(client, id).await?;
            ctx.messages()
                .dry_run(&format!("Would {verb} event subscription {id}"));
            return Ok(());
        }
        events::set_active(client, id, on).await?;
        let done = if on { "Enabled" } else { "Disabled" };
        ctx.messages()
            .success(&format!("{done} event subscription {id}"));
        Ok(())
    })
    .await
}
