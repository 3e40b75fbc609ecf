//! `xnatctl event delete ID`: `DELETE /xapi/events/subscription/{id}` (a dry run checks that
//! the subscription exists).

use clap::Args;
use serde_json::Value;

use crate::cli::shared::args::ConfirmArgs;
use crate::cli::shared::mutate::mutate;
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::events;

/// Arguments of `event delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Subscription id
    #[arg(value_name = "ID")]
    pub id: u64,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `event delete`.
pub async fn run(a: DeleteArgs, ctx: &Context) -> Result<()> {
    let id = a.id;
    let mut rec = AuditRecord::new("event delete");
    rec.detail("id", Value::from(id));
    let question = "Delete this event subscription?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        if !mode.apply() {
            events::show(client, id).await?;
            ctx.messages()
                .dry_run(&format!("Would delete event subscription {id}"));
            return Ok(());
        }
        events::delete(client, id).await?;
        ctx.messages()
            .success(&format!("Deleted event subscription {id}"));
        Ok(())
    })
    .await
}
