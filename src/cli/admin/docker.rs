//! `xnatctl admin docker images | hubs | server`: the Container Service plugin's Docker setup
//! (`server --set-host` changes the daemon connection).

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::cli::shared::{mutate, ConfirmArgs};

use crate::cli::Context;
use crate::core::audit::AuditRecord;
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
    /// The Docker daemon connection (`--set-host` changes it)
    Server(ServerArgs),
    /// Pull an image onto the Docker daemon
    Pull(PullArgs),
}

/// Arguments of `admin docker server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// New daemon host (e.g. unix:///var/run/docker.sock, tcp://10.0.0.5:2375)
    #[arg(long, value_name = "HOST")]
    pub set_host: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

async fn set_host(host: String, confirm: ConfirmArgs, ctx: &Context) -> Result<()> {
    let mut rec = AuditRecord::new("admin docker server");
    rec.detail("host", Value::from(host.clone()));
    mutate(
        ctx,
        "Change the Docker daemon connection?",
        &confirm,
        rec,
        |mode, _| async move {
            let client = ctx.client().await?;
            if !mode.apply() {
                docker::server(client)
                    .await
                    .map(|_| ())
                    .or_else(|e| match e {
                        crate::core::Error::Http { status: 500, .. } => Ok(()),
                        e => Err(e),
                    })?;
                ctx.messages()
                    .dry_run(&format!("would set the Docker daemon host to {host}"));
                return Ok(());
            }
            let now = docker::set_server_host(client, &host).await?;
            ctx.messages()
                .success(&format!("Set Docker daemon host to {host}"));
            ctx.out().item(&now)
        },
    )
    .await
}

/// Arguments of `admin docker pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Image name, e.g. xnat/dcm2niix:latest
    pub image: String,
    /// Save the commands the image's labels declare (the default)
    #[arg(long, overrides_with = "no_save_commands")]
    pub save_commands: bool,
    /// Do not save the image's commands
    #[arg(long)]
    pub no_save_commands: bool,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

async fn pull(a: PullArgs, ctx: &Context) -> Result<()> {
    let save = !a.no_save_commands;
    let mut rec = AuditRecord::new("admin docker pull");
    rec.detail("image", Value::from(a.image.clone()));
    rec.detail("save_commands", Value::Bool(save));
    let image = a.image;
    mutate(
        ctx,
        "Pull this docker image?",
        &a.confirm,
        rec,
        |mode, _| async move {
            if !mode.apply() {
                ctx.messages()
                    .dry_run(&format!("would pull {image} (save-commands={save})"));
                return Ok(());
            }
            docker::pull(ctx.client().await?, &image, save).await?;
            ctx.messages().success(&format!("Pulled {image}"));
            Ok(())
        },
    )
    .await
}

/// Run `admin docker`.
pub async fn run(a: DockerArgs, ctx: &Context) -> Result<()> {
    match a.command {
        DockerCommand::Pull(p) => return pull(p, ctx).await,
        DockerCommand::Server(ServerArgs {
            set_host: Some(h),
            confirm,
        }) => return set_host(h, confirm, ctx).await,
        _ => {}
    }
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
        DockerCommand::Server(_) => {
            let s = docker::server(client).await?;
            ctx.out().item(&s)
        }
        DockerCommand::Pull(_) => Ok(()),
    }
}
