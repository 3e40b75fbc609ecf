//! `xnatctl command list`: `GET /xapi/commands`, with each command's wrapper count.

use clap::Args;

use crate::cli::shared::ListArgs as ListControlArgs;
use crate::cli::Context;
use crate::core::Result;
use crate::services::commands;

/// Arguments of `command list`.
#[derive(Debug, Args)]
pub struct CommandListArgs {
    #[command(flatten)]
    pub list: ListControlArgs,
}

/// Run `command list`.
pub async fn run(a: CommandListArgs, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let rows = commands::list(ctx.client().await?).await?;
    ctx.out().rows(&rows, &controls)
}
