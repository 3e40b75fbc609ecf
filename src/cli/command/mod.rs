//! `xnatctl command`: the Container Service's commands (`/xapi/commands`).

mod create;
mod delete;
mod list;
mod show;
mod update;

use clap::Subcommand;

use crate::cli::Context;
use crate::core::Result;

/// The `command` subcommands.
#[derive(Debug, Subcommand)]
pub enum CommandCommand {
    /// List the registered commands
    List(list::CommandListArgs),
    /// Show one command's full definition
    Show(show::ShowArgs),
    /// Register a command from a JSON file
    Create(create::CreateArgs),
    /// Replace a command's whole definition from a JSON file
    Update(update::UpdateArgs),
    /// Delete a command and its wrappers
    Delete(delete::DeleteArgs),
}

/// Run a `command` subcommand.
pub async fn run(cmd: CommandCommand, ctx: &Context) -> Result<()> {
    match cmd {
        CommandCommand::List(a) => list::run(a, ctx).await,
        CommandCommand::Show(a) => show::run(a, ctx).await,
        CommandCommand::Create(a) => create::run(a, ctx).await,
        CommandCommand::Update(a) => update::run(a, ctx).await,
        CommandCommand::Delete(a) => delete::run(a, ctx).await,
    }
}
