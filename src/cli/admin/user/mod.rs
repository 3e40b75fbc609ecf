//! `xnatctl admin user`: site user accounts (list, show, enable/disable, groups, roles, sessions).

mod add;
mod disable;
mod enable;
mod groups;
mod kill_sessions;
mod list;
mod remove;
mod roles;
mod show;

use clap::{Args, Subcommand};

use crate::cli::Context;
use crate::core::Result;

/// Arguments of `admin user`.
#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
}

/// The `admin user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List user accounts (`--active`: only users with live sessions)
    List(list::ListUsersArgs),
    /// Show one user account
    Show(show::ShowArgs),
    /// Enable a user account
    Enable(enable::EnableArgs),
    /// Disable a user account
    Disable(disable::DisableArgs),
    /// List the groups a user belongs to
    Groups(groups::GroupsArgs),
    /// List a user's site roles
    Roles(roles::RolesArgs),
    /// Add a user to groups (and to projects with --projects/--role)
    Add(add::AddArgs),
    /// Remove a user from every group of a project
    Remove(remove::RemoveArgs),
    /// End every active session of a user
    #[command(name = "kill-sessions")]
    KillSessions(kill_sessions::KillSessionsArgs),
}

/// Run an `admin user` subcommand.
pub async fn run(a: UserArgs, ctx: &Context) -> Result<()> {
    match a.command {
        UserCommand::List(a) => list::run(a, ctx).await,
        UserCommand::Show(a) => show::run(a, ctx).await,
        UserCommand::Enable(a) => enable::run(a, ctx).await,
        UserCommand::Disable(a) => disable::run(a, ctx).await,
        UserCommand::Groups(a) => groups::run(a, ctx).await,
        UserCommand::Roles(a) => roles::run(a, ctx).await,
        UserCommand::Add(a) => add::run(a, ctx).await,
        UserCommand::Remove(a) => remove::run(a, ctx).await,
        UserCommand::KillSessions(a) => kill_sessions::run(a, ctx).await,
    }
}
