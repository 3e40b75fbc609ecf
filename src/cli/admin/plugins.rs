//! `xnatctl admin plugins [show ID]`: the plugins installed on the server.

use clap::{Args, Subcommand};

use crate::cli::Context;
use crate::core::output::ListControls;
use crate::core::Result;
use crate::services::site;

/// Arguments of `admin plugins` (no subcommand lists them).
#[derive(Debug, Args)]
pub struct PluginsArgs {
    #[command(subcommand)]
    pub command: Option<PluginsCommand>,
}

/// The `admin plugins` subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// Show one plugin's details
    Show(ShowArgs),
}

/// Arguments of `admin plugins show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Plugin id (as `admin plugins` lists it)
    pub id: String,
}

/// Run `admin plugins`.
pub async fn run(a: PluginsArgs, ctx: &Context) -> Result<()> {
    let client = ctx.client().await?;
    match a.command {
        None => {
            let rows = site::plugins(client).await?;
            ctx.out().rows(&rows, &ListControls::default())
        }
        Some(PluginsCommand::Show(s)) => {
            let info = site::plugin(client, &s.id).await?;
            ctx.out().item(&info)
        }
    }
}
