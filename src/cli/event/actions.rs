//! `xnatctl event actions`: `GET /xapi/events/actions` (admins only on the server).

use clap::Args;

use crate::cli::shared::args::ListArgs as ListControlArgs;
use crate::cli::Context;
use crate::core::Result;
use crate::services::events;

/// Arguments of `event actions`.
#[derive(Debug, Args)]
pub struct ActionsArgs {
    #[command(flatten)]
    pub list: ListControlArgs,
}

/// Run `event actions`.
pub async fn run(a: ActionsArgs, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let rows = events::actions(ctx.client().await?).await?;
    ctx.out().rows(&rows, &controls)
}
