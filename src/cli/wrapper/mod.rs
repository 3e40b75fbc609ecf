//! `xnatctl wrapper`: the Container Service's command wrappers (the entries of each command's
//! `xnat` array): list them, enable or disable them site-wide or for a project, and read or
//! write their configuration.

mod config;
mod list;
mod toggle;

use clap::Subcommand;

use crate::cli::Context;
use crate::core::Result;

/// The `wrapper` subcommands.
#[derive(Debug, Subcommand)]
pub enum WrapperCommand {
    /// List the wrappers of every command, or of one
    List(list::WrapperListArgs),
    /// Enable a wrapper site-wide, or for a project
    Enable(toggle::ToggleArgs),
    /// Disable a wrapper site-wide, or for a project
    Disable(toggle::ToggleArgs),
    /// Read or write a wrapper's configuration
    #[command(subcommand)]
    Config(config::ConfigCommand),
}

/// Run a `wrapper` subcommand.
pub async fn run(cmd: WrapperCommand, ctx: &Context) -> Result<()> {
    match cmd {
        WrapperCommand::List(a) => list::run(a, ctx).await,
        WrapperCommand::Enable(a) => toggle::run(a, true, ctx).await,
        WrapperCommand::Disable(a) => toggle::run(a, false, ctx).await,
        WrapperCommand::Config(c) => config::run(c, ctx).await,
    }
}
