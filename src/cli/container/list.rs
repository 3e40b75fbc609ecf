//! `xnatctl container list [-P P] [--status S]`: `GET /xapi/projects/{p}/containers`, or
//! `GET /xapi/containers` without a project.

use clap::Args;

use crate::cli::shared::{ListArgs as ListControlArgs, ProjectArg};
use crate::cli::Context;
use crate::core::Result;
use crate::services::containers;

/// Arguments of `container list`.
#[derive(Debug, Args)]
pub struct ContainerListArgs {
    #[command(flatten)]
    pub project: ProjectArg,
    /// Only containers with this status (exact: Created, Running, Complete, Failed, Killed...)
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    #[command(flatten)]
    pub list: ListControlArgs,
}

/// Run `container list`.
pub async fn run(a: ContainerListArgs, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let project = a.project.or_default(ctx);
    let rows =
        containers::list(ctx.client().await?, project.as_deref(), a.status.as_deref()).await?;
    ctx.out().rows(&rows, &controls)
}
