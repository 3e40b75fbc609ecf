//! `xnatctl event types`: `GET /xapi/events/events`.

use clap::Args;

use crate::cli::shared::args::ListArgs as ListControlArgs;
use crate::cli::Context;
use crate::core::Result;
use crate::services::events;

/// Arguments of `event types`.
#[derive(Debug, Args)]
pub struct TypesArgs {
    #[command(flatten)]
    pub list: ListControlArgs,
}

/// Run `event types`.
pub async fn run(a: TypesArgs, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let rows = events::event_types(ctx.client().await?).await?;
    ctx.out().rows(&rows, &controls)
}
