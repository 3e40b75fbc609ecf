//! `xnatctl search list|show|run|delete`: stored searches.

use clap::{Args, Subcommand};
use serde_json::Value;

use super::common::{ConfirmArgs, ListArgs};
use super::project::{audited, listing, print_listing, print_record, to_rows};
use super::Context;
use crate::core::audit::AuditRecord;
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
            let l = listing(
                to_rows(&rows)?,
                &[
                    ("id", "ID"),
                    ("root_element_name", "Root Element"),
                    ("brief_description", "Description"),
                    ("secure", "Secure"),
                    ("users", "Users"),
                ],
                "id",
                &controls,
            )?;
            print_listing(ctx, &l)
        }
        SearchCommand::Show(a) => {
            validate_search_id(&a.id)?;
            let def = search::show(ctx.client().await?, &a.id).await?;
            print_record(
                ctx,
                &def,
                "id",
                &[("id", "ID"), ("definition_xml", "Definition XML")],
            )
        }
        SearchCommand::Run(a) => {
            validate_search_id(&a.id)?;
            let controls = a.list.controls()?;
            let rows = search::run(ctx.client().await?, &a.id).await?;
            let mut keys: Vec<String> = Vec::new();
            for r in &rows {
                for k in r.keys() {
                    if !keys.contains(k) {
                        keys.push(k.clone());
                    }
                }
            }
            let cols: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), k.as_str())).collect();
            let id_field = ["id", "ID", "label", "name"]
                .into_iter()
                .find(|k| keys.iter().any(|x| x == k))
                .unwrap_or("id");
            let l = listing(rows.clone(), &cols, id_field, &controls)?;
            print_listing(ctx, &l)
        }
        SearchCommand::Delete(a) => {
            let id = validate_search_id(&a.id)?;
            let go = ctx.confirm(
                "Delete this saved search?",
                a.confirm.yes,
                a.confirm.dry_run,
            )?;
            let mut rec = AuditRecord::new("search delete");
            rec.dry_run = !go;
            rec.detail("id", Value::from(id.clone()));
            let result = async {
                search::delete(ctx.client().await?, &id, go).await?;
                if go {
                    ctx.messages()
                        .success(&format!("Deleted saved search {id}"));
                } else {
                    ctx.messages()
                        .dry_run(&format!("Would delete saved search {id}"));
                }
                Ok(())
            }
            .await;
            audited(ctx, rec, result)
        }
    }
}
