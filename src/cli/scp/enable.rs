//! `xnatctl scp enable ID`.

use clap::Args;

use crate::cli::shared::args::ConfirmArgs;
use crate::cli::Context;
use crate::core::Result;

/// Arguments of `scp enable`.
#[derive(Debug, Args)]
pub struct EnableArgs {
    /// Receiver id
    #[arg(value_name = "ID")]
    pub id: u64,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `scp enable`.
pub async fn run(a: EnableArgs, ctx: &Context) -> Result<()> {
    super::toggle(a.id, true, &a.confirm, ctx).await
}
