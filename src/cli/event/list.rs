//! `xnatctl event list`: `GET /xapi/events/subscriptions`, each row with its `event_type`.

use clap::Args;

use crate::cli::shared::args::ListArgs as ListControlArgs;
use crate::cli::Context;
use crate::core::Result;
use crate::services::events;

/// Arguments of `event list`.
#[derive(Debug, Args)]
pub struct EventListArgs {
    #[command(flatten)]
    pub list: ListControlArgs,
}

/// Run `event list`.
pub async fn run(a: EventListArgs, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let rows = events::list(ctx.client().await?).await?;
    ctx.out().rows(&rows, &controls)
}
