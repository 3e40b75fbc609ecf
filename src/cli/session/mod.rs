//! `session`: list, inspect, share and curate imaging sessions (experiments).
//!
//! One file per verb.

mod download;
mod list;
mod normalize_labels;
mod share;
mod show;
mod upload;
mod upload_dicom;
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
    /// Send a directory of DICOM files to a DICOM receiver (C-STORE)
    UploadDicom(upload_dicom::UploadDicomArgs),
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
        SessionCommand::UploadDicom(a) => upload_dicom::run(a, ctx).await,
    }
}
