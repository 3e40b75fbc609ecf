//! `xnatctl event show ID`: `GET /xapi/events/subscription/{id}`, key/value.

use clap::Args;

use crate::cli::Context;
use crate::core::Result;
use crate::services::events;

/// Arguments of `event show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Subscription id
    #[arg(value_name = "ID")]
    pub id: u64,
}

/// Run `event show`.
pub async fn run(a: ShowArgs, ctx: &Context) -> Result<()> {
    let s = events::show(ctx.client().await?, a.id).await?;
    ctx.out().item(&s)
}
