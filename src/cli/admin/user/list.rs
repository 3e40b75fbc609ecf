//! `admin user list [--active]`: user accounts.

use clap::Args;

use crate::cli::shared::ListArgs;
use crate::cli::Context;
use crate::core::Result;
use crate::services::users;

/// Arguments of `admin user list`.
#[derive(Debug, Args)]
pub struct ListUsersArgs {
    /// Only users with active sessions (`/xapi/users/active`)
    #[arg(long)]
    pub active: bool,
    #[command(flatten)]
    pub list: ListArgs,
}

/// Run `admin user list`.
pub async fn run(a: ListUsersArgs, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let rows = users::list(ctx.client().await?, a.active).await?;
    ctx.out().rows(&rows, &controls)
}
