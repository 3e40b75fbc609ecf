//! `xnatctl vars`: a project's metadata as a spreadsheet, and the spreadsheet pushed back.

mod apply;
mod export;

use clap::{Subcommand, ValueEnum};

use crate::cli::Context;
use crate::core::Result;
use crate::services::metadata::Level;

/// The `vars` subcommands.
#[derive(Debug, Subcommand)]
pub enum VarsCommand {
    /// Write every subject or session of a project, with its standard fields and custom
    /// variables, to a CSV, TSV or JSON file (two requests whatever the project's size)
    Export(export::ExportArgs),
    /// Push an edited export back: match rows by id or label, show the changes, write only the
    /// changed values, and re-read to confirm the server kept each one
    Apply(apply::ApplyArgs),
}

/// `--level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    /// One row per subject
    Subject,
    /// One row per session
    Session,
}

impl From<LevelArg> for Level {
    fn from(l: LevelArg) -> Level {
        match l {
            LevelArg::Subject => Level::Subject,
            LevelArg::Session => Level::Session,
        }
    }
}

/// Run a `vars` subcommand.
pub async fn run(cmd: VarsCommand, ctx: &Context) -> Result<()> {
    match cmd {
        VarsCommand::Export(a) => export::run(a, ctx).await,
        VarsCommand::Apply(a) => apply::run(a, ctx).await,
    }
}
