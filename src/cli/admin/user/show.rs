//! `admin user show USERNAME`: one account's XAPI document.

use clap::Args;

use crate::cli::Context;
use crate::core::Result;
use crate::services::users;

/// Arguments of `admin user show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Username
    pub username: String,
}

/// Run `admin user show`.
pub async fn run(a: ShowArgs, ctx: &Context) -> Result<()> {
    let info = users::show(ctx.client().await?, &a.username).await?;
    ctx.out().item(&info)
}
