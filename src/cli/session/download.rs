//! `session download`: every scan (and optionally the session's own resources) of one session,
//! or of each session a manifest selects, through the shared download wiring in
//! `cli::shared::download`.

use std::path::PathBuf;

use clap::Args;

use crate::cli::shared::download::{
    run as download, transfer, ExtractArgs, Ran, ResourceFilterArgs, Target, TransferArgs,
};
use crate::cli::shared::ProjectArg;
use crate::cli::Context;
use crate::core::{Error, Result};
use crate::services::download::{PlanRequest, ResourceFilter, ScanSelection};
use crate::services::manifest;

/// Arguments of `session download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Session accession ID or label (labels need a project)
    #[arg(
        short = 'E',
        long = "experiment",
        value_name = "ID_OR_LABEL",
        required_unless_present = "manifest",
        conflicts_with = "manifest"
    )]
    pub experiment: Option<String>,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Download exactly the sessions (and scans) of a manifest written by `session list
    /// --manifest` or `scan list --manifest`, one session after the other
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
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
    if let Some(path) = &args.manifest {
        return from_manifest(ctx, path, &args, filter).await;
    }
    let Some(experiment) = args.experiment.as_deref() else {
        return Err(Error::usage("give -E/--experiment or --manifest"));
    };
    let project = args.project.or_default(ctx);
    let req = PlanRequest {
        scans: ScanSelection::All,
        filter,
        session_resources: args.session_resources,
        workers: 1,
    };
    let target = Target {
        project: project.as_deref(),
        subject: None,
        experiment,
    };
    download(ctx, target, req, &args.transfer).await
}

/// Each session of the manifest in turn (its listed scans only, on a scan manifest); a failed
/// session does not stop the others, Ctrl-C does. The sessions' summaries (or dry-run plans)
/// print as one document at the end, also after Ctrl-C. Exit 1 when any session failed.
async fn from_manifest(
    ctx: &Context,
    path: &std::path::Path,
    args: &DownloadArgs,
    filter: ResourceFilter,
) -> Result<()> {
    let selections = manifest::selections(&manifest::read(path)?);
    let total = selections.len();
    let mut failed = 0;
    let mut cancelled = false;
    let mut summaries = manifest::Summaries::default();
    let mut previews = manifest::Previews::default();
    for s in &selections {
        let started = std::time::Instant::now();
        let req = PlanRequest {
            scans: match &s.scans {
                Some(ids) => ScanSelection::Only(ids.clone()),
                None => ScanSelection::All,
            },
            filter: filter.clone(),
            session_resources: args.session_resources,
            workers: 1,
        };
        let target = Target {
            project: Some(&s.project),
            subject: None,
            experiment: &s.session_id,
        };
        let outcome = match transfer(ctx, target, req, &args.transfer).await {
            Ok(Ran::Preview(p)) => {
                previews.0.push(p);
                Ok(())
            }
            Ok(Ran::Done {
                summary,
                closing,
                outcome,
            }) => {
                summaries.0.push(summary);
                if let Some(line) = closing {
                    ctx.messages().success(&line);
                }
                outcome
            }
            Err(e) => {
                if !matches!(e, Error::Cancelled) {
                    summaries.push_failed(s, &e, started.elapsed());
                }
                Err(e)
            }
        };
        match outcome {
            Ok(()) => {}
            Err(Error::Cancelled) => {
                cancelled = true;
                break;
            }
            Err(e) => {
                failed += 1;
                ctx.messages().warn(&format!("{}: {e}", s.session_id));
            }
        }
    }
    if args.transfer.dry_run {
        ctx.out().report(&previews)?;
    } else {
        ctx.out().report(&summaries)?;
    }
    if cancelled {
        return Err(Error::Cancelled);
    }
    if failed > 0 {
        return Err(Error::Batch { failed, total });
    }
    if !args.transfer.dry_run {
        ctx.messages().success(&format!(
            "Downloaded the {total} session(s) of {}",
            path.display()
        ));
    }
    Ok(())
}
