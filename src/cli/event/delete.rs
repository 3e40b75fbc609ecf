//! `xnatctl event delete ID`: existence check, then `DELETE /xapi/events/subscription/{id}`.

use clap::Args;

use crate::cli::shared::{delete_by_id, ConfirmArgs, Deletion};
use crate::cli::Context;
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
    let what = Deletion {
        operation: "event delete",
        noun: "event subscription",
        id: a.id,
    };
    delete_by_id(
        ctx,
        what,
        &a.confirm,
        |c, id| async move { events::show(&c, id).await },
        |c, id| async move { events::delete(&c, id).await },
    )
    .await
}
