//! `xnatctl event create FILE|-`: the definition is read and checked before any request, then
//! `POST /xapi/events/subscription`; `--dry-run` shows it as a diff against nothing.

use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value};

use crate::cli::shared::args::ConfirmArgs;
use crate::cli::shared::mutate::mutate;
use crate::cli::shared::payload::{json_diff, read_json_object};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::events;

/// Arguments of `event create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Subscription definition, a JSON object with kebab-case keys (name, active, action-key,
    /// attributes, event-filter, act-as-event-user); - reads stdin (needs --yes or --dry-run)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `event create`.
pub async fn run(a: CreateArgs, ctx: &Context) -> Result<()> {
    let payload = read_json_object(&a.file, &a.confirm, "subscription")?;
    let mut rec = AuditRecord::new("event create");
    rec.detail("file", Value::from(payload.source.clone()));
    for key in ["name", "action-key"] {
        if let Some(v) = payload.object.get(key) {
            rec.detail(key, v.clone());
        }
    }
    let question = "Register this event subscription?";
    mutate(ctx, question, &a.confirm, rec, |mode, notes| async move {
        let src = &payload.source;
        if !mode.apply() {
            ctx.messages().dry_run(&format!(
                "Would register a new event subscription from {src}:"
            ));
            return ctx.out().raw(&json_diff(src, &Map::new(), &payload.object));
        }
        let created = events::create(ctx.client().await?, &payload.object).await?;
        notes.detail("id", Value::from(created.id));
        ctx.messages().success(&format!(
            "Registered event subscription {} from {src}",
            created.id
        ));
        ctx.out().item(&created)
    })
    .await
}
