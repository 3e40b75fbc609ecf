//! `xnatctl admin`: site administration (build information, site settings, users, plugins).

mod audit;
mod docker;
mod plugins;
mod refresh_catalogs;
mod site_config;
mod user;
mod version;

use clap::Subcommand;

use crate::cli::Context;
use crate::core::Result;

/// The `admin` subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Show the server's XNAT version and build information
    Version(version::VersionArgs),
    /// Read the server's audit log (`/xapi/audit`, where a plugin provides it)
    Audit(audit::AuditArgs),
    /// Ask the server to refresh the catalogs of a project's experiments
    #[command(name = "refresh-catalogs")]
    RefreshCatalogs(refresh_catalogs::RefreshCatalogsArgs),
    /// The Container Service plugin's Docker images, hubs and daemon connection
    Docker(docker::DockerArgs),
    /// List the installed plugins, or show one
    Plugins(plugins::PluginsArgs),
    /// Manage user accounts
    User(user::UserArgs),
    /// Read or change site configuration preferences
    #[command(name = "site-config")]
    SiteConfig(site_config::SiteConfigArgs),
}

/// Run an `admin` subcommand.
pub async fn run(cmd: AdminCommand, ctx: &Context) -> Result<()> {
    match cmd {
        AdminCommand::Version(a) => version::run(a, ctx).await,
        AdminCommand::Audit(a) => audit::run(a, ctx).await,
        AdminCommand::RefreshCatalogs(a) => refresh_catalogs::run(a, ctx).await,
        AdminCommand::Docker(a) => docker::run(a, ctx).await,
        AdminCommand::Plugins(a) => plugins::run(a, ctx).await,
        AdminCommand::User(a) => user::run(a, ctx).await,
        AdminCommand::SiteConfig(a) => site_config::run(a, ctx).await,
    }
}
