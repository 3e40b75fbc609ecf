//! `xnatctl admin version`: the server's build information (`-q` prints the version).

use clap::Args;

use crate::cli::Context;
use crate::core::Result;
use crate::services::site;

/// Arguments of `admin version` (none besides the global options).
#[derive(Debug, Args)]
pub struct VersionArgs {}

/// Run `admin version`.
pub async fn run(_a: VersionArgs, ctx: &Context) -> Result<()> {
    let info = site::build_info(ctx.client().await?).await?;
    ctx.out().item(&info)
}
