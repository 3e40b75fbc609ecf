//! `dicom`: local DICOM tools (validate, inspect, list-tags, anonymize, modify). No server and
//! no configuration; the work is in `services::dicom`, these handlers only wire arguments to it
//! and its typed rows to the printer.

mod anonymize;
mod inspect;
mod list_tags;
mod modify;
mod validate;

use crate::cli::Context;
use crate::core::{Error, Result};
use clap::Subcommand;

/// The `dicom` subcommands.
#[derive(Debug, Subcommand)]
pub enum DicomCommand {
    /// Check that files carry what XNAT needs to file them (IDs, UIDs, modality)
    Validate(validate::ValidateArgs),
    /// Show the main attributes of one file (or the ones named with -t)
    Inspect(inspect::InspectArgs),
    /// List every attribute of one file
    ListTags(list_tags::ListTagsArgs),
    /// Write de-identified copies (PS3.15 basic profile by default)
    Anonymize(anonymize::AnonymizeArgs),
    /// Set attributes in place (atomically; --backup keeps the original)
    Modify(modify::ModifyArgs),
}

/// Run a `dicom` subcommand.
pub async fn run(cmd: DicomCommand, ctx: &Context) -> Result<()> {
    match cmd {
        DicomCommand::Validate(a) => validate::run(a, ctx).await,
        DicomCommand::Inspect(a) => inspect::run(a, ctx).await,
        DicomCommand::ListTags(a) => list_tags::run(a, ctx).await,
        DicomCommand::Anonymize(a) => anonymize::run(a, ctx).await,
        DicomCommand::Modify(a) => modify::run(a, ctx).await,
    }
}

/// Run file work on the blocking pool, so the runtime keeps watching for Ctrl-C; the closure
/// gets a check that turns true once the user has asked to stop.
async fn blocking<T, F>(ctx: &Context, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&(dyn Fn() -> bool + Sync)) -> Result<T> + Send + 'static,
{
    ctx.set_cancel_aware();
    let token = ctx.cancel_token().clone();
    tokio::task::spawn_blocking(move || work(&|| token.is_cancelled()))
        .await
        .map_err(|e| Error::Operation(format!("DICOM worker failed: {e}")))?
}
