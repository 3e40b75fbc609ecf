//! `scan download`: chosen scans of one session (or all of them), through the shared download
//! wiring in `cli::shared::download`.

use clap::Args;

use crate::cli::shared::download::{
    run as download, ExtractArgs, ResourceFilterArgs, Target, TransferArgs,
};
use crate::cli::shared::SessionTarget;
use crate::cli::Context;
use crate::core::validation::validate_scan_id;
use crate::core::{Error, Result};
use crate::services::download::{PlanRequest, ScanSelection};

/// Arguments of `scan download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The session: `-E`, `-P` and `-S`.
    #[command(flatten)]
    pub target: SessionTarget,
    /// Scan IDs (comma-separated or repeated; ALL or * for every scan)
    #[arg(long, required = true, value_delimiter = ',', value_name = "IDS")]
    pub scans: Vec<String>,
    /// Resource labels to keep or skip.
    #[command(flatten)]
    pub resources: ResourceFilterArgs,
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
        filter: args.resources.filter()?,
        session_resources: false,
        workers: 1,
    };
    let project = args.target.session.project.or_default(ctx);
    let target = Target {
        project: project.as_deref(),
        subject: args.target.subject.as_deref(),
        experiment: &args.target.session.experiment,
    };
    download(ctx, target, req, &args.transfer).await
}
