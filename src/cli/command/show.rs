//! `xnatctl command show ID`: `GET /xapi/commands/{id}`, key/value.

use clap::Args;

use crate::cli::Context;
use crate::core::Result;
use crate::services::commands;

/// Arguments of `command show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Command id
    #[arg(value_name = "ID")]
    pub id: u64,
}

/// Run `command show`.
pub async fn run(a: ShowArgs, ctx: &Context) -> Result<()> {
    let c = commands::show(ctx.client().await?, a.id).await?;
    ctx.out().item(&c)
}
