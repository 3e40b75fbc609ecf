//! `admin user groups USERNAME`: the groups a user belongs to.

use clap::Args;

use crate::cli::Context;
use crate::core::output::ListControls;
use crate::core::Result;
use crate::services::users;

/// Arguments of `admin user groups`.
#[derive(Debug, Args)]
pub struct GroupsArgs {
    /// Username
    pub username: String,
}

/// Run `admin user groups`.
pub async fn run(a: GroupsArgs, ctx: &Context) -> Result<()> {
    let rows = users::groups(ctx.client().await?, &a.username).await?;
    ctx.out().rows(&rows, &ListControls::default())
}
