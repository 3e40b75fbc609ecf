//! `xnatctl container kill ID`: existence check, then `POST /xapi/containers/{id}/kill`.

use clap::Args;
use serde_json::Value;

use crate::cli::shared::{mutate, ConfirmArgs};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::containers;

/// Arguments of `container kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Container id
    #[arg(value_name = "ID")]
    pub id: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `container kill`.
pub async fn run(a: KillArgs, ctx: &Context) -> Result<()> {
    let mut rec = AuditRecord::new("container kill");
    rec.detail("id", Value::from(a.id.clone()));
    let id = a.id;
    mutate(
        ctx,
        "Kill this container?",
        &a.confirm,
        rec,
        |mode, notes| async move {
            let client = ctx.client().await?;
            let c = containers::show(client, &id).await?;
            notes.detail("status", Value::from(c.status()));
            if !mode.apply() {
                ctx.messages()
                    .dry_run(&format!("Would kill container {id} (now {})", c.status()));
                return Ok(());
            }
            containers::kill(client, &id).await?;
            ctx.messages().success(&format!("Killed container {id}"));
            Ok(())
        },
    )
    .await
}
