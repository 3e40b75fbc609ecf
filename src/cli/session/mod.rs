//! `session`: list, inspect, share and curate imaging sessions (experiments).
//!
//! One file per verb.

mod download;
mod list;
mod normalize_labels;
mod share;
mod show;
mod upload;
mod upload_exam;
mod vars;

use clap::Subcommand;

use crate::cli::Context;
use crate::core::Result;

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

// Until scan and resource are on the typed output (the lead's slice of issue 8): then these go.
#[doc(hidden)]
pub(crate) fn listing<T: serde::Serialize>(
    items: &[T],
    columns: &[(&str, &str)],
    id_field: &str,
) -> Result<crate::core::output::Listing> {
    let rows = items
        .iter()
        .map(crate::core::output::object_of)
        .collect::<Result<Vec<_>>>()?;
    Ok(crate::core::output::Listing {
        columns: columns
            .iter()
            .map(|(k, l)| crate::core::output::Column::new(*k, *l))
            .collect(),
        rows,
        id_field: id_field.into(),
        title: None,
    })
}

#[doc(hidden)]
pub(crate) fn print_json<T: serde::Serialize>(ctx: &Context, value: &T) -> Result<()> {
    ctx.out().value(value)
}
