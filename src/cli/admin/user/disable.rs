//! `admin user disable USERNAME`: disable an account (asks first, audited).

use clap::Args;

use crate::cli::shared::ConfirmArgs;
use crate::cli::Context;
use crate::core::Result;

/// Arguments of `admin user disable`.
#[derive(Debug, Args)]
pub struct DisableArgs {
    /// Username
    pub username: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `admin user disable`.
pub async fn run(a: DisableArgs, ctx: &Context) -> Result<()> {
    super::enable::set_enabled(ctx, a.username, a.confirm, false).await
}
