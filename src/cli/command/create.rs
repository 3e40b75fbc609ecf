//! `xnatctl command create FILE|-`: `POST /xapi/commands`; `--dry-run` shows the definition as
//! a diff from nothing.

use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value};

use crate::cli::shared::payload;
use crate::cli::shared::{mutate, ConfirmArgs};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::commands;

/// Arguments of `command create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The command definition (JSON), or - to read it from stdin (needs --yes or --dry-run)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `command create`.
pub async fn run(a: CreateArgs, ctx: &Context) -> Result<()> {
    let payload::Payload {
        object: command,
        source: src,
    } = payload::read_json_object(&a.file, &a.confirm, "command")?;
    let mut rec = AuditRecord::new("command create");
    rec.detail("file", Value::from(src.clone()));
    mutate(
        ctx,
        "Register this command?",
        &a.confirm,
        rec,
        |mode, notes| async move {
            if !mode.apply() {
                ctx.messages()
                    .dry_run(&format!("Would register a new command from {src}:"));
                let diff = payload::json_diff(&src, &Map::new(), &command);
                return ctx.out().raw(&diff);
            }
            let id = commands::create(ctx.client().await?, &command).await?;
            notes.detail("id", Value::from(id));
            ctx.messages()
                .success(&format!("Registered command {id} from {src}"));
            ctx.out().item(&commands::Registered { id })
        },
    )
    .await
}
