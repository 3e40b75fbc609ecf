//! `xnatctl pipeline`: the legacy pipeline engine: the pipelines a project (or the site) offers,
//! launching one on an experiment, and the jobs (XNAT workflows) launches create.

mod cancel;
mod jobs;
mod list;
mod run;
mod status;

use clap::Subcommand;

use crate::cli::Context;
use crate::core::Result;

/// The `pipeline` subcommands.
#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// List the pipelines of a project (-P), or of the site
    List(list::PipelineListArgs),
    /// Launch a pipeline on an experiment; --wait follows the job to its end
    Run(run::RunArgs),
    /// Show a job's status; --watch follows it to its end
    Status(status::StatusArgs),
    /// List jobs: the latest of each experiment, by project, experiment or status
    Jobs(jobs::JobsArgs),
    /// Mark a job as killed
    Cancel(cancel::CancelArgs),
}

/// Run a `pipeline` subcommand.
pub async fn run(cmd: PipelineCommand, ctx: &Context) -> Result<()> {
    match cmd {
        PipelineCommand::List(a) => list::run(a, ctx).await,
        PipelineCommand::Run(a) => run::run(a, ctx).await,
        PipelineCommand::Status(a) => status::run(a, ctx).await,
        PipelineCommand::Jobs(a) => jobs::run(a, ctx).await,
        PipelineCommand::Cancel(a) => cancel::run(a, ctx).await,
    }
}
