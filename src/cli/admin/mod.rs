//! `xnatctl admin`: site administration (build information, site settings, users, plugins).

mod version;

use clap::Subcommand;

use crate::cli::Context;
use crate::core::Result;

/// The `admin` subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Show the server's XNAT version and build information
    Version(version::VersionArgs),
}

/// Run an `admin` subcommand.
pub async fn run(cmd: AdminCommand, ctx: &Context) -> Result<()> {
    match cmd {
        AdminCommand::Version(a) => version::run(a, ctx).await,
    }
}
