//! `xnatctl container show ID`: `GET /xapi/containers/{id}`, key/value.

use clap::Args;

use crate::cli::Context;
use crate::core::Result;
use crate::services::containers;

/// Arguments of `container show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Container id (the database id, or Docker's container id)
    #[arg(value_name = "ID")]
    pub id: String,
}

/// Run `container show`.
pub async fn run(a: ShowArgs, ctx: &Context) -> Result<()> {
    let c = containers::show(ctx.client().await?, &a.id).await?;
    ctx.out().item(&c)
}
