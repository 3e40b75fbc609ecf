//! `session`: list, inspect, share and curate imaging sessions (experiments).
//!
//! One file per verb; `download` and `upload` are added by the transfer commands.

mod download;
mod list;
mod normalize_labels;
mod share;
mod show;
mod upload;
mod upload_exam;
mod vars;

use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::Context;
use crate::core::output::{Column, Listing};
use crate::core::{Error, Result};

/// Session subcommands.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// List the sessions of a project
    List(list::SessionListArgs),
    /// Show a session with its scans, resources and shares
    Show(show::ShowArgs),
    /// Share a session into another project
    Share(share::ShareArgs),
    /// Remove a session's share from another project
    Unshare(share::UnshareArgs),
    /// Show (or set) a session's custom variables
    Vars(vars::VarsArgs),
    /// Rename session labels to SUBJECT_VV_SEnn_MOD
    NormalizeLabels(normalize_labels::NormalizeArgs),
    /// Download a session's files (parallel, resumable, verified)
    Download(download::DownloadArgs),
    /// Upload DICOM (archive, directory or file by file) through the import service
    Upload(upload::UploadArgs),
    /// Upload an exam folder: DICOM, then its other folders and files as resources
    UploadExam(upload_exam::UploadExamArgs),
}

/// `-E/--experiment` and `-P/--project`, shared by the single-session verbs.
#[derive(Debug, Clone, Args)]
pub struct SessionRef {
    /// Session accession ID or label (labels need a project)
    #[arg(short = 'E', long = "experiment", value_name = "ID_OR_LABEL")]
    pub experiment: String,
    /// Project (default: the profile's default_project)
    #[arg(short = 'P', long, value_name = "PROJECT")]
    pub project: Option<String>,
}

/// Run a session subcommand.
pub async fn run(cmd: SessionCommand, ctx: &Context) -> Result<()> {
    match cmd {
        SessionCommand::List(a) => list::run(a, ctx).await,
        SessionCommand::Show(a) => show::run(a, ctx).await,
        SessionCommand::Share(a) => share::run_share(a, ctx).await,
        SessionCommand::Unshare(a) => share::run_unshare(a, ctx).await,
        SessionCommand::Vars(a) => vars::run(a, ctx).await,
        SessionCommand::NormalizeLabels(a) => normalize_labels::run(a, ctx).await,
        SessionCommand::Download(a) => download::run(a, ctx).await,
        SessionCommand::Upload(a) => upload::run(a, ctx).await,
        SessionCommand::UploadExam(a) => upload_exam::run(a, ctx).await,
    }
}

/// Rows of serialisable items as a listing.
pub(crate) fn listing<T: Serialize>(
    items: &[T],
    columns: &[(&str, &str)],
    id_field: &str,
) -> Result<Listing> {
    let rows = items
        .iter()
        .map(|i| match serde_json::to_value(i) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Ok(Map::new()),
            Err(e) => Err(Error::Operation(format!("serialising output: {e}"))),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Listing {
        columns: columns.iter().map(|(k, l)| Column::new(*k, *l)).collect(),
        rows,
        id_field: id_field.into(),
        title: None,
    })
}

/// Print a serialisable value as JSON.
pub(crate) fn print_json<T: Serialize>(ctx: &Context, value: &T) -> Result<()> {
    let v = serde_json::to_value(value)
        .map_err(|e| Error::Operation(format!("serialising output: {e}")))?;
    ctx.out().json(&v)
}
