//! `xnatctl search list|show|run|delete`: stored searches.

use clap::{Args, Subcommand};
use serde_json::Value;

use super::Context;
use crate::cli::shared::{mutate, ConfirmArgs, ListArgs};
use crate::core::audit::AuditRecord;
use crate::core::output::open_listing;
use crate::core::Result;
use crate::services::search::{self, validate_search_id};

/// The `search` subcommands.
#[derive(Debug, Subcommand)]
pub enum SearchCommand {
    /// List stored searches
    List(ListCmd),
    /// Show a stored search's XML definition
    Show(IdArgs),
    /// Run a stored search and print its rows
    Run(RunArgs),
    /// Delete a stored search
    Delete(DeleteArgs),
}

/// Arguments of `search list`.
#[derive(Debug, Args)]
pub struct ListCmd {
    #[command(flatten)]
    pub list: ListArgs,
}

/// A stored-search id.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// Stored search id
    pub id: String,
}

/// Arguments of `search run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Stored search id
    pub id: String,
    #[command(flatten)]
    pub list: ListArgs,
}

/// Arguments of `search delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Stored search id
    pub id: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run a `search` subcommand.
pub async fn run(cmd: SearchCommand, ctx: &Context) -> Result<()> {
    match cmd {
        SearchCommand::List(a) => {
            let controls = a.list.controls()?;
            let rows = search::list(ctx.client().await?).await?;
            ctx.out().rows(&rows, &controls)
        }
        SearchCommand::Show(a) => {
            validate_search_id(&a.id)?;
            let def = search::show(ctx.client().await?, &a.id).await?;
            ctx.out().item(&def)
        }
        SearchCommand::Run(a) => {
            validate_search_id(&a.id)?;
            let controls = a.list.controls()?;
            let rows = search::run(ctx.client().await?, &a.id).await?;
            ctx.out().list(&open_listing(rows, &controls)?)
        }
        SearchCommand::Delete(a) => {
            let id = validate_search_id(&a.id)?;
            let mut rec = AuditRecord::new("search delete");
            rec.detail("id", Value::from(id.clone()));
            let question = "Delete this saved search?";
            mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
                search::delete(ctx.client().await?, &id, mode.apply()).await?;
                if mode.apply() {
                    ctx.messages()
                        .success(&format!("Deleted saved search {id}"));
                } else {
                    ctx.messages()
                        .dry_run(&format!("Would delete saved search {id}"));
                }
                Ok(())
            })
            .await
        }
    }
}
