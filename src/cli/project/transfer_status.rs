//! `project transfer-status` and `project transfer-history`: read the local transfer journal.

use clap::Args;

use crate::cli::shared::ListArgs;
use crate::cli::Context;
use crate::core::Result;
use crate::services::project_transfer;

/// Arguments of `project transfer-status`.
#[derive(Debug, Args)]
pub struct TransferStatusArgs {
    /// Source project ID
    #[arg(short = 'P', long = "project", value_name = "PROJECT")]
    pub project: String,
}

/// Arguments of `project transfer-history`.
#[derive(Debug, Args)]
pub struct TransferHistoryArgs {
    /// Source project ID
    #[arg(short = 'P', long = "project", value_name = "PROJECT")]
    pub project: String,
    #[command(flatten)]
    pub list: ListArgs,
}

/// The source server's URL: the active profile's, without logging in (the reference
/// authenticated just to learn it).
fn source_url(ctx: &Context) -> Result<String> {
    Ok(ctx.profile()?.url.clone())
}

/// Run `project transfer-status`.
pub async fn status(a: TransferStatusArgs, ctx: &Context) -> Result<()> {
    let item = project_transfer::status(&ctx.config_dir(), &source_url(ctx)?, &a.project)?;
    ctx.out().item(&item)
}

/// Run `project transfer-history`.
pub async fn history(a: TransferHistoryArgs, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let rows = project_transfer::history(&ctx.config_dir(), &source_url(ctx)?, &a.project)?;
    ctx.out().rows(&rows, &controls)
}
