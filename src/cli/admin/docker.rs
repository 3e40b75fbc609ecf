//! `xnatctl admin docker images | hubs | server`: the Container Service plugin's Docker setup
//! (read side; `pull` and `server --set-host` are not ported yet).

use clap::{Args, Subcommand};

use crate::cli::Context;
use crate::core::output::ListControls;
use crate::core::Result;
use crate::services::docker;

/// Arguments of `admin docker`.
#[derive(Debug, Args)]
pub struct DockerArgs {
    #[command(subcommand)]
    pub command: DockerCommand,
}

/// The `admin docker` subcommands.
#[derive(Debug, Subcommand)]
pub enum DockerCommand {
    /// Images the Docker daemon holds
    Images,
    /// Configured image hubs
    Hubs,
    /// The Docker daemon connection
    Server,
}

/// Run `admin docker`.
pub async fn run(a: DockerArgs, ctx: &Context) -> Result<()> {
    let client = ctx.client().await?;
    let controls = ListControls::default();
    match a.command {
        DockerCommand::Images => {
            let rows = docker::images(client).await?;
            ctx.out().rows(&rows, &controls)
        }
        DockerCommand::Hubs => {
            let rows = docker::hubs(client).await?;
            ctx.out().rows(&rows, &controls)
        }
        DockerCommand::Server => {
            let s = docker::server(client).await?;
            ctx.out().item(&s)
        }
    }
}
