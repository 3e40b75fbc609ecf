//! The flags of `session upload`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cli::shared::{ProjectArg, WorkersArg};
use crate::services::upload::Sending;

/// `--mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Batches as uncompressed tar archives
    Tar,
    /// Batches as zip archives
    Zip,
    /// One request per DICOM file (gradual-DICOM)
    Gradual,
}

impl From<Mode> for Sending {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Tar => Sending::Tar,
            Mode::Zip => Sending::Zip,
            Mode::Gradual => Sending::Gradual,
        }
    }
}

/// `--overwrite` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OverwriteArg {
    /// Refuse when the session exists
    None,
    /// Add to the existing session (same SOP Instance UID replaces)
    Append,
    /// Replace the existing session
    Delete,
}

/// Arguments of `session upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// An archive (.zip, .tar, .tar.gz) or a directory of DICOM files
    #[arg(value_name = "INPUT_PATH")]
    pub input: PathBuf,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Subject label
    #[arg(short = 'S', long, value_name = "SUBJECT")]
    pub subject: String,
    /// Session label
    #[arg(
        short = 'E',
        long = "session",
        visible_alias = "experiment",
        value_name = "LABEL"
    )]
    pub session: String,
    /// How a directory is sent [default: profile archive_mode, else tar]
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    #[command(flatten)]
    pub workers: WorkersArg,
    /// What to do when the session exists [default: profile overwrite, else delete]
    #[arg(long, value_enum)]
    pub overwrite: Option<OverwriteArg>,
    /// Archive directly (needs XNAT 1.8.3+) [default unless the profile says otherwise]
    #[arg(long, conflicts_with = "prearchive")]
    pub direct_archive: bool,
    /// Send to the project's prearchive instead of archiving
    #[arg(long)]
    pub prearchive: bool,
    /// Show the plan and send nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Upload even when the directory holds several studies or repeated SOP Instance UIDs
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Do not count the archived session's files after the upload
    #[arg(long)]
    pub no_check: bool,
    /// Fail on non-DICOM archive members instead of skipping them
    #[arg(long, hide = true)]
    pub no_ignore_unparsable: bool,
    /// Refused: passwords on the command line leak into the process list
    #[arg(long, hide = true, value_name = "PASSWORD")]
    pub password: Option<String>,
}
