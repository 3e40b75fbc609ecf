//! `xnatctl scp show ID`: `GET /xapi/dicomscp/{id}`, key/value.

use clap::Args;

use crate::cli::Context;
use crate::core::Result;
use crate::services::scp;

/// Arguments of `scp show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Receiver id
    #[arg(value_name = "ID")]
    pub id: u64,
}

/// Run `scp show`.
pub async fn run(a: ShowArgs, ctx: &Context) -> Result<()> {
    let r = scp::show(ctx.client().await?, a.id).await?;
    ctx.out().item(&r)
}
