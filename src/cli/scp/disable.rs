//! `xnatctl scp disable ID`.

use clap::Args;

use crate::cli::shared::args::ConfirmArgs;
use crate::cli::Context;
use crate::core::Result;

/// Arguments of `scp disable`.
#[derive(Debug, Args)]
pub struct DisableArgs {
    /// Receiver id
    #[arg(value_name = "ID")]
    pub id: u64,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `scp disable`.
pub async fn run(a: DisableArgs, ctx: &Context) -> Result<()> {
    super::toggle(a.id, false, &a.confirm, ctx).await
}
