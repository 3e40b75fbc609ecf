//! `xnatctl scp list`: `GET /xapi/dicomscp`.

use clap::Args;

use crate::cli::shared::args::ListArgs as ListControlArgs;
use crate::cli::Context;
use crate::core::Result;
use crate::services::scp;

/// Arguments of `scp list`.
#[derive(Debug, Args)]
pub struct ScpListArgs {
    #[command(flatten)]
    pub list: ListControlArgs,
}

/// Run `scp list`.
pub async fn run(a: ScpListArgs, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let rows = scp::list(ctx.client().await?).await?;
    ctx.out().rows(&rows, &controls)
}
