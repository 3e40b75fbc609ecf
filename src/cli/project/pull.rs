//! `project pull`: bring a local, verified mirror of a project up to date (docs/pull.md).

use std::path::PathBuf;

use clap::Args;

use crate::cli::shared::download::ResourceFilterArgs;
use crate::cli::shared::WorkersArg;
use crate::cli::Context;
use crate::core::validation::validate_project_id;
use crate::core::{Error, Result};
use crate::services::manifest;
use crate::services::pull::{self, PullRequest, PullRun};

/// Arguments of `project pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Project id
    #[arg(short = 'P', long = "project")]
    pub project: String,
    /// The mirror's folder (sessions go to DIR/<subject>/<session>/)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Only these subjects, by label or ID (repeatable)
    #[arg(long = "subject", value_name = "SUBJECT")]
    pub subject: Vec<String>,
    /// Only these modalities, comma-separated (MR,PET)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub modality: Vec<String>,
    /// Only sessions inserted or modified on or after this day (YYYY-MM-DD)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only this session type (xnat:mrSessionData)
    #[arg(long = "type", value_name = "XSITYPE")]
    pub xsi_type: Option<String>,
    /// Only the sessions of a manifest written by `session list --manifest` (lines of this
    /// project; whole sessions, so scan lines are refused)
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    #[command(flatten)]
    pub resources: ResourceFilterArgs,
    /// Also mirror the sessions' own resources
    #[arg(long)]
    pub session_resources: bool,
    /// Sessions transferred at once
    #[command(flatten)]
    pub workers: WorkersArg,
    /// Print the plan (new, changed, unchanged and gone sessions with their bytes); write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Move local files and sessions the server no longer has to DIR/.trash/<date>/
    #[arg(long)]
    pub delete: bool,
    /// Re-list every selected session's files, unchanged ones too, and fetch what differs
    #[arg(long)]
    pub rescan: bool,
}

/// `project pull`.
pub async fn run(a: PullArgs, ctx: &Context) -> Result<()> {
    let project = validate_project_id(&a.project)?;
    if let Some(d) = &a.since {
        if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
            return Err(Error::usage(format!("--since {d}: expected YYYY-MM-DD")));
        }
    }
    let sessions = match &a.manifest {
        Some(path) => manifest_sessions(path, &project)?,
        None => Vec::new(),
    };
    let req = PullRequest {
        project,
        out: a.out,
        subjects: a.subject,
        modalities: a.modality,
        since: a.since,
        xsi_type: a.xsi_type,
        sessions: sessions.clone(),
        filter: a.resources.filter()?,
        session_resources: a.session_resources,
        rescan: a.rescan,
        delete: a.delete,
        workers: a.workers.resolve(ctx),
    };
    let client = ctx.client().await?;
    ctx.set_cancel_aware();
    let progress = crate::cli::progress::for_transfer(ctx, 0);
    let run = PullRun {
        client,
        manifest_dir: crate::core::config::Config::config_dir().join("downloads"),
        progress: progress.as_ref(),
        cancel: ctx.cancel_token(),
    };
    let summary = pull::pull(&run, &req, a.dry_run).await;
    drop(progress);
    let summary = summary?;
    for wanted in &sessions {
        let found = summary
            .sessions
            .iter()
            .any(|s| s.session_id == *wanted || s.label == *wanted);
        if !found {
            ctx.messages().warn(&format!(
                "{wanted} (from the manifest) is not a session of {} that the other filters select; skipped",
                summary.project
            ));
        }
    }
    if a.dry_run {
        ctx.messages().dry_run(&summary.line());
    }
    ctx.out().report(&summary)?;
    if ctx.cancel_token().is_cancelled() {
        return Err(Error::Cancelled);
    }
    if summary.failed > 0 {
        return Err(Error::Download(format!(
            "{} of {} sessions failed; run the same command again to fetch only what is missing",
            summary.failed,
            summary.new + summary.changed
        )));
    }
    if !a.dry_run {
        ctx.messages().success(&summary.line());
    }
    Ok(())
}

/// The sessions a manifest selects in `project`: every line must be of that project and name a
/// whole session (a pull mirrors whole sessions; a scan manifest is `session download`'s).
fn manifest_sessions(path: &std::path::Path, project: &str) -> Result<Vec<String>> {
    let selections = manifest::selections(&manifest::read(path)?);
    let mut out = Vec::new();
    for s in selections {
        if s.project != project {
            return Err(Error::InvalidInput(format!(
                "{} selects session {} of project {}, not {project}",
                path.display(),
                s.session_id,
                s.project
            )));
        }
        if s.scans.is_some() {
            return Err(Error::InvalidInput(format!(
                "{} selects scans of {}: a pull mirrors whole sessions (use `session download \
                 --manifest` for scans, or `session list --manifest` for a session manifest)",
                path.display(),
                s.session_id
            )));
        }
        out.push(s.session_id);
    }
    Ok(out)
}
