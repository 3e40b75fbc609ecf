//! `xnatctl scp delete ID`: existence check, then `DELETE /xapi/dicomscp/{id}`.

use clap::Args;

use crate::cli::shared::{delete_by_id, ConfirmArgs, Deletion};
use crate::cli::Context;
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
    let what = Deletion {
        operation: "scp delete",
        noun: "DICOM SCP receiver",
        id: a.id,
    };
    delete_by_id(
        ctx,
        what,
        &a.confirm,
        |c, id| async move { scp::show(&c, id).await },
        |c, id| async move { scp::delete(&c, id).await },
    )
    .await
}
