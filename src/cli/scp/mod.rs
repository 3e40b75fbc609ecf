//! `xnatctl scp`: the server's DICOM SCP receivers (`/xapi/dicomscp`).

mod create;
mod delete;
mod disable;
mod enable;
mod list;
mod show;

use clap::Subcommand;
use serde_json::Value;

use crate::cli::shared::args::ConfirmArgs;
use crate::cli::shared::mutate::mutate;
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::scp;

/// The `scp` subcommands.
#[derive(Debug, Subcommand)]
pub enum ScpCommand {
    /// List the DICOM SCP receivers
    List(list::ScpListArgs),
    /// Show one receiver
    Show(show::ShowArgs),
    /// Create a receiver (refused when another receiver uses the port)
    Create(create::CreateArgs),
    /// Enable a receiver
    Enable(enable::EnableArgs),
    /// Disable a receiver
    Disable(disable::DisableArgs),
    /// Delete a receiver
    Delete(delete::DeleteArgs),
}

/// Run an `scp` subcommand.
pub async fn run(cmd: ScpCommand, ctx: &Context) -> Result<()> {
    match cmd {
        ScpCommand::List(a) => list::run(a, ctx).await,
        ScpCommand::Show(a) => show::run(a, ctx).await,
        ScpCommand::Create(a) => create::run(a, ctx).await,
        ScpCommand::Enable(a) => enable::run(a, ctx).await,
        ScpCommand::Disable(a) => disable::run(a, ctx).await,
        ScpCommand::Delete(a) => delete::run(a, ctx).await,
    }
}

/// `scp enable|disable ID`: the receiver must exist (checked in dry runs too), then
/// `PUT /xapi/dicomscp/{id}` `{"enabled": ...}`.
async fn toggle(id: u64, on: bool, confirm: &ConfirmArgs, ctx: &Context) -> Result<()> {
    let verb = if on { "enable" } else { "disable" };
    let mut rec = AuditRecord::new(format!("scp {verb}"));
    rec.detail("id", Value::from(id));
    let question = if on {
        "Enable this DICOM SCP receiver?"
    } else {
        "Disable this DICOM SCP receiver?"
    };
    mutate(ctx, question, confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        scp::show(client, id).await?;
        if !mode.apply() {
            ctx.messages()
                .dry_run(&format!("Would {verb} DICOM SCP receiver {id}"));
            return Ok(());
        }
        scp::set_enabled(client, id, on).await?;
        let done = if on { "Enabled" } else { "Disabled" };
        ctx.messages()
            .success(&format!("{done} DICOM SCP receiver {id}"));
        Ok(())
    })
    .await
}
