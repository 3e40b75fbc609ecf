//! `xnatctl command delete ID`: existence check, then `DELETE /xapi/commands/{id}`.

use clap::Args;

use crate::cli::shared::{delete_by_id, ConfirmArgs, Deletion};
use crate::cli::Context;
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
    let what = Deletion {
        operation: "command delete",
        noun: "command",
        id: a.id,
    };
    delete_by_id(
        ctx,
        what,
        &a.confirm,
        |c, id| async move { commands::show(&c, id).await },
        |c, id| async move { commands::delete(&c, id).await },
    )
    .await
}
