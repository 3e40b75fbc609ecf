//! `admin user roles USERNAME`: a user's site roles.

use clap::Args;

use crate::cli::Context;
use crate::core::output::ListControls;
use crate::core::Result;
use crate::services::users;

/// Arguments of `admin user roles`.
#[derive(Debug, Args)]
pub struct RolesArgs {
    /// Username
    pub username: String,
}

/// Run `admin user roles`.
pub async fn run(a: RolesArgs, ctx: &Context) -> Result<()> {
    let rows = users::roles(ctx.client().await?, &a.username).await?;
    ctx.out().rows(&rows, &ListControls::default())
}
