//! `resource`: list and inspect resources at any level, and ask XNAT to refresh catalogs.

mod download;
mod upload;

use clap::{Args, Subcommand};

use crate::cli::shared::{ListArgs, ProjectArg};
use crate::cli::Context;
use crate::core::{Error, Result};
use crate::services::resources::{self, Scope};

/// Resource subcommands.
#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// List resources of a session, scan, subject or project
    List(ListCmd),
    /// Show one resource and its first files
    Show(ShowCmd),
    /// Ask XNAT to refresh a resource catalog (checksums, stats, ...)
    Refresh(RefreshCmd),
    /// Upload a file, or a directory (zipped, extracted by the server), into a resource
    #[command(override_usage = "xnatctl resource upload [OPTIONS] [SESSION] <LABEL> <PATH>")]
    Upload(upload::UploadCmd),
    /// Download one resource's files into the download layout
    Download(download::DownloadArgs),
}

/// `resource list`.
#[derive(Debug, Args)]
pub struct ListCmd {
    /// Session accession ID or label (labels need a project)
    #[arg(value_name = "SESSION")]
    pub session: Option<String>,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Subject (with -P, lists subject resources)
    #[arg(short = 'S', long, value_name = "SUBJECT", conflicts_with = "session")]
    pub subject: Option<String>,
    /// Scan ID within SESSION
    #[arg(long, value_name = "SCAN_ID", requires = "session")]
    pub scan: Option<String>,
    #[command(flatten)]
    pub list: ListArgs,
}

/// `resource show`.
#[derive(Debug, Args)]
pub struct ShowCmd {
    /// Session accession ID or label (labels need a project)
    #[arg(value_name = "SESSION")]
    pub session: String,
    /// Resource label
    #[arg(value_name = "LABEL")]
    pub label: String,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Scan ID within SESSION
    #[arg(long, value_name = "SCAN_ID")]
    pub scan: Option<String>,
}

/// `resource refresh`.
#[derive(Debug, Args)]
pub struct RefreshCmd {
    /// Archive URI, e.g. /archive/experiments/XNAT_E00001
    #[arg(value_name = "URI")]
    pub uri: String,
    /// Refresh options: checksum, delete, append, populateStats (repeatable or comma-separated)
    #[arg(long, value_name = "OPT", value_delimiter = ',')]
    pub options: Vec<String>,
}

/// Run a resource subcommand.
pub async fn run(cmd: ResourceCommand, ctx: &Context) -> Result<()> {
    match cmd {
        ResourceCommand::List(a) => list(a, ctx).await,
        ResourceCommand::Show(a) => show(a, ctx).await,
        ResourceCommand::Refresh(a) => refresh(a, ctx).await,
        ResourceCommand::Upload(a) => upload::run(a, ctx).await,
        ResourceCommand::Download(a) => download::run(a, ctx).await,
    }
}

fn scope(
    ctx: &Context,
    session: Option<&str>,
    project: Option<&str>,
    subject: Option<&str>,
    scan: Option<&str>,
) -> Result<Scope> {
    let project = ctx.project_or_default(project);
    match (session, project, subject) {
        (Some(s), project, None) => Ok(Scope::Session {
            project,
            session: s.to_string(),
            scan: scan.map(str::to_string),
        }),
        (None, Some(p), Some(s)) => Ok(Scope::Subject {
            project: p,
            subject: s.to_string(),
        }),
        (None, Some(p), None) => Ok(Scope::Project(p)),
        (None, None, Some(_)) => Err(Error::usage("-S/--subject needs -P/--project")),
        (Some(_), _, Some(_)) => Err(Error::usage("give SESSION or -S/--subject, not both")),
        (None, None, None) => Err(Error::usage(
            "give SESSION, or -P/--project (with -S for a subject)",
        )),
    }
}

async fn list(a: ListCmd, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let scope = scope(
        ctx,
        a.session.as_deref(),
        a.project.project.as_deref(),
        a.subject.as_deref(),
        a.scan.as_deref(),
    )?;
    let client = ctx.client().await?;
    let parent = resources::parent_path(client, &scope).await?;
    let rows = resources::list(client, &parent).await?;
    ctx.out().rows(&rows, &controls)
}

async fn show(a: ShowCmd, ctx: &Context) -> Result<()> {
    let scope = scope(
        ctx,
        Some(&a.session),
        a.project.project.as_deref(),
        None,
        a.scan.as_deref(),
    )?;
    let client = ctx.client().await?;
    let parent = resources::parent_path(client, &scope).await?;
    let d = resources::show(client, &parent, &a.label).await?;
    ctx.out().item(&d)
}

async fn refresh(a: RefreshCmd, ctx: &Context) -> Result<()> {
    let options: Vec<String> = a
        .options
        .iter()
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .collect();
    let r = resources::refresh(ctx.client().await?, &a.uri, &options).await?;
    ctx.out().item(&r)
}
