//! `scan download`: chosen scans of one session (or all of them), through the shared download
//! engine in `cli::transfer_cmds`.

use clap::Args;

use crate::cli::transfer_cmds::{
    checked_labels, run as download, ExtractArgs, Target, TransferArgs,
};
use crate::cli::Context;
use crate::core::validation::validate_scan_id;
use crate::core::{Error, Result};
use crate::services::download::{PlanRequest, ResourceFilter, ScanSelection};

/// Arguments of `scan download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Session accession ID, or label with -P
    #[arg(short = 'E', long = "experiment", value_name = "ID_OR_LABEL")]
    pub experiment: String,
    /// Project (needed to look up a label; default: profile default_project)
    #[arg(short = 'P', long)]
    pub project: Option<String>,
    /// Subject ID or label the session must belong to (needs a project)
    #[arg(short = 'S', long, value_name = "SUBJECT")]
    pub subject: Option<String>,
    /// Scan IDs (comma-separated or repeated; ALL or * for every scan)
    #[arg(long, required = true, value_delimiter = ',', value_name = "IDS")]
    pub scans: Vec<String>,
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
    /// Extraction flags of the reference.
    #[command(flatten)]
    pub extract: ExtractArgs,
    /// Output, workers, verification, dry run.
    #[command(flatten)]
    pub transfer: TransferArgs,
}

/// `scan download`.
pub async fn run(args: DownloadArgs, ctx: &Context) -> Result<()> {
    args.extract.warn(ctx);
    let ids: Vec<String> = args
        .scans
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let scans = if ids
        .iter()
        .any(|s| s == "*" || s.eq_ignore_ascii_case("ALL"))
    {
        ScanSelection::All
    } else if ids.is_empty() {
        return Err(Error::usage("--scans needs at least one scan ID"));
    } else {
        ScanSelection::Only(
            ids.iter()
                .map(|s| validate_scan_id(s))
                .collect::<Result<_>>()?,
        )
    };
    let req = PlanRequest {
        scans,
        filter: ResourceFilter {
            include: checked_labels(&args.resource)?,
            exclude: checked_labels(&args.exclude_resource)?,
        },
        session_resources: false,
        workers: 1,
    };
    let project = ctx.project_or_default(args.project.as_deref());
    let target = Target {
        project: project.as_deref(),
        subject: args.subject.as_deref(),
        experiment: &args.experiment,
    };
    download(ctx, target, req, &args.transfer).await
}
