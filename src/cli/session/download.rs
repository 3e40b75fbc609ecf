//! `session download`: every scan (and optionally the session's own resources) of one session,
//! through the shared download wiring in `cli::shared::download`.

use clap::Args;

use crate::cli::shared::download::{
    run as download, ExtractArgs, ResourceFilterArgs, Target, TransferArgs,
};
use crate::cli::shared::SessionRef;
use crate::cli::Context;
use crate::core::Result;
use crate::services::download::{PlanRequest, ScanSelection};

/// Arguments of `session download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The session: `-E` and `-P`.
    #[command(flatten)]
    pub session: SessionRef,
    /// Resource labels to keep or skip.
    #[command(flatten)]
    pub resources: ResourceFilterArgs,
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
    let filter = args.resources.filter()?;
    let project = args.session.project.or_default(ctx);
    let req = PlanRequest {
        scans: ScanSelection::All,
        filter,
        session_resources: args.session_resources,
        workers: 1,
    };
    let target = Target {
        project: project.as_deref(),
        subject: None,
        experiment: &args.session.experiment,
    };
    download(ctx, target, req, &args.transfer).await
}
