//! `xnatctl wrapper list [--command ID]`: the wrappers inside `GET /xapi/commands`.

use clap::Args;

use crate::cli::shared::ListArgs as ListControlArgs;
use crate::cli::Context;
use crate::core::Result;
use crate::services::commands;

/// Arguments of `wrapper list`.
#[derive(Debug, Args)]
pub struct WrapperListArgs {
    /// Only this command's wrappers
    #[arg(long = "command", value_name = "COMMAND_ID")]
    pub command: Option<u64>,
    #[command(flatten)]
    pub list: ListControlArgs,
}

/// Run `wrapper list`.
pub async fn run(a: WrapperListArgs, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let rows = commands::wrappers(ctx.client().await?, a.command).await?;
    ctx.out().rows(&rows, &controls)
}
