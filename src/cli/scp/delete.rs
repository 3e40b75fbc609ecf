//! `xnatctl scp delete ID`: existence check, then `DELETE /xapi/dicomscp/{id}`.

use clap::Args;
use serde_json::Value;

use crate::cli::shared::args::ConfirmArgs;
use crate::cli::shared::mutate::mutate;
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::scp;

/// Arguments of `scp delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Receiver id
    #[arg(value_name = "ID")]
    pub id: u64,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `scp delete`.
pub async fn run(a: DeleteArgs, ctx: &Context) -> Result<()> {
    let id = a.id;
    let mut rec = AuditRecord::new("scp delete");
    rec.detail("id", Value::from(id));
    let question = "Delete this DICOM SCP receiver?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        scp::show(client, id).await?;
        if !mode.apply() {
            ctx.messages()
                .dry_run(&format!("Would delete DICOM SCP receiver {id}"));
            return Ok(());
        }
        scp::delete(client, id).await?;
        ctx.messages()
            .success(&format!("Deleted DICOM SCP receiver {id}"));
        Ok(())
    })
    .await
}
