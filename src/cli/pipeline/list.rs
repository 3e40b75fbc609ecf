//! `xnatctl pipeline list [-P P]`: a project's pipelines, or the site's.

use clap::Args;

use crate::cli::shared::args::{ListArgs, ProjectArg};
use crate::cli::Context;
use crate::core::Result;
use crate::services::pipelines;

/// Arguments of `pipeline list`.
#[derive(Debug, Args)]
pub struct PipelineListArgs {
    #[command(flatten)]
    pub project: ProjectArg,
    #[command(flatten)]
    pub list: ListArgs,
}

/// Run `pipeline list`.
pub async fn run(a: PipelineListArgs, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let project = a.project.or_default(ctx);
    let rows = pipelines::list(ctx.client().await?, project.as_deref()).await?;
    ctx.out().rows(&rows, &controls)
}
