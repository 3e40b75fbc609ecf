//! `xnatctl command update ID FILE|-`: replace the whole definition (`POST /xapi/commands/{id}`)
//! after dropping wrapper ids that are not this command's.

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use crate::cli::shared::payload;
use crate::cli::shared::{mutate, ConfirmArgs};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::commands;

/// Arguments of `command update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Command id
    #[arg(value_name = "ID")]
    pub id: u64,
    /// The new definition (JSON), or - to read it from stdin (needs --yes or --dry-run);
    /// wrappers it leaves out are deleted
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `command update`.
pub async fn run(a: UpdateArgs, ctx: &Context) -> Result<()> {
    let payload::Payload {
        object: new,
        source: src,
    } = payload::read_json_object(&a.file, &a.confirm, "command")?;
    let id = a.id;
    let mut rec = AuditRecord::new("command update");
    rec.detail("id", Value::from(id))
        .detail("file", Value::from(src.clone()));
    let question = "Replace this command's full definition?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        let current = commands::show(client, id).await?;
        let body = commands::update_body(&current, &new);
        if !mode.apply() {
            ctx.messages()
                .dry_run(&format!("Would replace command {id} from {src}:"));
            let mut shown = current.0.clone();
            shown.remove("wrapper_count");
            let diff = payload::json_diff(&format!("command {id}"), &shown, &body);
            return ctx.out().raw(&diff);
        }
        commands::update(client, id, &body).await?;
        ctx.messages()
            .success(&format!("Updated command {id} from {src}"));
        Ok(())
    })
    .await
}
