//! `xnatctl command delete ID`: existence check, then `DELETE /xapi/commands/{id}`.

use clap::Args;
use serde_json::Value;

use crate::cli::shared::{mutate, ConfirmArgs};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::commands;

/// Arguments of `command delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Command id
    #[arg(value_name = "ID")]
    pub id: u64,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `command delete`.
pub async fn run(a: DeleteArgs, ctx: &Context) -> Result<()> {
    let id = a.id;
    let mut rec = AuditRecord::new("command delete");
    rec.detail("id", Value::from(id));
    mutate(
        ctx,
        "Delete this command?",
        &a.confirm,
        rec,
        |mode, _| async move {
            let client = ctx.client().await?;
            commands::show(client, id).await?;
            if !mode.apply() {
                ctx.messages()
                    .dry_run(&format!("Would delete command {id}"));
                return Ok(());
            }
            commands::delete(client, id).await?;
            ctx.messages().success(&format!("Deleted command {id}"));
            Ok(())
        },
    )
    .await
}
