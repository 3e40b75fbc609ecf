//! `session download`: every scan (and optionally the session's own resources) of one session,
//! through the shared download engine in `cli::transfer_cmds`.

use clap::Args;

use crate::cli::transfer_cmds::{
    checked_labels, run as download, ExtractArgs, Target, TransferArgs,
};
use crate::cli::Context;
use crate::core::Result;
use crate::services::download::{PlanRequest, ResourceFilter, ScanSelection};

/// Arguments of `session download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Session accession ID, or label with -P
    #[arg(short = 'E', long = "experiment", value_name = "ID_OR_LABEL")]
    pub experiment: String,
    /// Project (needed to look up a label; default: profile default_project)
    #[arg(short = 'P', long)]
    pub project: Option<String>,
    /// Only these resource labels (repeatable)
    #[arg(
        short = 'r',
        long = "resource",
        value_name = "LABEL",
        conflicts_with = "exclude_resource"
    )]
    pub resource: Vec<String>,
    /// Skip these resource labels (repeatable)
    #[arg(long = "exclude-resource", value_name = "LABEL")]
    pub exclude_resource: Vec<String>,
    /// Also download the session's own resources
    #[arg(long)]
    pub session_resources: bool,
    /// Extraction flags of the reference.
    #[command(flatten)]
    pub extract: ExtractArgs,
    /// Output, workers, verification, dry run.
    #[command(flatten)]
    pub transfer: TransferArgs,
}

/// `session download`.
pub async fn run(args: DownloadArgs, ctx: &Context) -> Result<()> {
    args.extract.warn(ctx);
    let filter = ResourceFilter {
        include: checked_labels(&args.resource)?,
        exclude: checked_labels(&args.exclude_resource)?,
    };
    let project = ctx.project_or_default(args.project.as_deref());
    let req = PlanRequest {
        scans: ScanSelection::All,
        filter,
        session_resources: args.session_resources,
        workers: 1,
    };
    let target = Target {
        project: project.as_deref(),
        subject: None,
        experiment: &args.experiment,
    };
    download(ctx, target, req, &args.transfer).await
}
