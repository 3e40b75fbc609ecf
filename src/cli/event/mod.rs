//! `xnatctl event`: the Event Service's subscriptions and the catalogs they draw on
//! (`/xapi/events/...`).

mod actions;
mod create;
mod delete;
mod list;
mod show;
mod toggle;
mod types;

use clap::Subcommand;

use crate::cli::Context;
use crate::core::Result;

/// The `event` subcommands.
#[derive(Debug, Subcommand)]
pub enum EventCommand {
    /// List the event types a subscription can listen to (valid event-filter.event-type values)
    Types(types::TypesArgs),
    /// List the actions a subscription can run (valid action-key values)
    Actions(actions::ActionsArgs),
    /// List the event subscriptions
    List(list::EventListArgs),
    /// Show one subscription's full definition
    Show(show::ShowArgs),
    /// Register a subscription from a JSON definition (FILE, or - for stdin)
    Create(create::CreateArgs),
    /// Activate a subscription
    Enable(toggle::ToggleArgs),
    /// Deactivate a subscription
    Disable(toggle::ToggleArgs),
    /// Delete a subscription
    Delete(delete::DeleteArgs),
}

/// Run an `event` subcommand.
pub async fn run(cmd: EventCommand, ctx: &Context) -> Result<()> {
    match cmd {
        EventCommand::Types(a) => types::run(a, ctx).await,
        EventCommand::Actions(a) => actions::run(a, ctx).await,
        EventCommand::List(a) => list::run(a, ctx).await,
        EventCommand::Show(a) => show::run(a, ctx).await,
        EventCommand::Create(a) => create::run(a, ctx).await,
        EventCommand::Enable(a) => toggle::run(a, true, ctx).await,
        EventCommand::Disable(a) => toggle::run(a, false, ctx).await,
        EventCommand::Delete(a) => delete::run(a, ctx).await,
    }
}
