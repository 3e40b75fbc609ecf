//! `scan download`: chosen scans of one session (or all of them), through the shared download
//! engine in `cli::transfer_cmds`.

use clap::Args;

use crate::cli::transfer_cmds::{
    run as download, ExtractArgs, ResourceFilterArgs, SessionArgs, Target, TransferArgs,
};
use crate::cli::Context;
use crate::core::validation::validate_scan_id;
use crate::core::{Error, Result};
use crate::services::download::{PlanRequest, ScanSelection};

/// Arguments of `scan download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The session: `-E` and `-P`.
    #[command(flatten)]
    pub session: SessionArgs,
    /// Subject ID or label the session must belong to (needs a project)
    #[arg(short = 'S', long, value_name = "SUBJECT")]
    pub subject: Option<String>,
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
    let project = ctx.project_or_default(args.session.project.as_deref());
    let target = Target {
        project: project.as_deref(),
        subject: args.subject.as_deref(),
        experiment: &args.session.experiment,
    };
    download(ctx, target, req, &args.transfer).await
}
