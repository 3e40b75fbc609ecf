//! `xnatctl container`: containers the Container Service launched: list, show, logs, launch
//! (optionally waiting for the end), kill.

mod kill;
mod launch;
mod list;
mod logs;
mod show;

use clap::Subcommand;

use crate::cli::Context;
use crate::core::Result;

/// The `container` subcommands.
#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// List containers (a project's, or the site's)
    List(list::ContainerListArgs),
    /// Show one container
    Show(show::ShowArgs),
    /// Print a container's stdout (or stderr) log; --follow streams it until the container ends
    Logs(logs::LogsArgs),
    /// Launch a wrapper in a project; --wait follows the container to its end
    Launch(launch::LaunchArgs),
    /// Kill a running container
    Kill(kill::KillArgs),
}

/// Run a `container` subcommand.
pub async fn run(cmd: ContainerCommand, ctx: &Context) -> Result<()> {
    match cmd {
        ContainerCommand::List(a) => list::run(a, ctx).await,
        ContainerCommand::Show(a) => show::run(a, ctx).await,
        ContainerCommand::Logs(a) => logs::run(a, ctx).await,
        ContainerCommand::Launch(a) => launch::run(a, ctx).await,
        ContainerCommand::Kill(a) => kill::run(a, ctx).await,
    }
}
