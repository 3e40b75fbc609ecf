//! `xnatctl pipeline jobs [-E EXP | -P P] [--status S]`: the latest job of each experiment.

use clap::Args;

use crate::cli::shared::args::ListArgs;
use crate::cli::Context;
use crate::core::Result;
use crate::services::pipelines::{self, JobFilter};

/// Arguments of `pipeline jobs`.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// Only jobs of this experiment (accession ID)
    #[arg(short = 'E', long = "experiment", value_name = "ID")]
    pub experiment: Option<String>,
    /// Only jobs of this project
    #[arg(
        short = 'P',
        long = "project",
        value_name = "PROJECT",
        conflicts_with = "experiment"
    )]
    pub project: Option<String>,
    /// Only jobs with this status (Queued, Running, Complete, Failed, Killed, ...)
    #[arg(short = 's', long, value_name = "STATUS")]
    pub status: Option<String>,
    #[command(flatten)]
    pub list: ListArgs,
}

/// Run `pipeline jobs`; at most 100 rows unless `--limit` says otherwise.
pub async fn run(a: JobsArgs, ctx: &Context) -> Result<()> {
    let mut controls = a.list.controls()?;
    controls.limit = controls.limit.or(Some(100));
    let filter = JobFilter {
        experiment: a.experiment,
        project: a.project,
        status: a.status,
    };
    let rows = pipelines::jobs(ctx.client().await?, &filter).await?;
    ctx.out().rows(&rows, &controls)
}
