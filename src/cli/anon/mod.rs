//! `xnatctl anon`: the DicomEdit anonymization scripts XNAT applies to incoming DICOM, site-wide
//! or as a project's override (`-P`).

mod disable;
mod enable;
mod set;
mod show;

use clap::Subcommand;
use serde_json::Value;

use crate::cli::shared::args::ConfirmArgs;
use crate::cli::shared::mutate::mutate;
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::anon::{self, Scope};

/// The `anon` subcommands.
#[derive(Debug, Subcommand)]
pub enum AnonCommand {
    /// Show the site-wide script, or a project's override (-P), and whether it is enabled
    Show(show::ShowArgs),
    /// Replace the site-wide script, or a project's override (-P), with FILE (or - for stdin)
    Set(set::SetArgs),
    /// Enable the site-wide script, or a project's override (-P)
    Enable(enable::EnableArgs),
    /// Disable the site-wide script, or a project's override (-P)
    Disable(disable::DisableArgs),
}

/// Run an `anon` subcommand.
pub async fn run(cmd: AnonCommand, ctx: &Context) -> Result<()> {
    match cmd {
        AnonCommand::Show(a) => show::run(a, ctx).await,
        AnonCommand::Set(a) => set::run(a, ctx).await,
        AnonCommand::Enable(a) => enable::run(a, ctx).await,
        AnonCommand::Disable(a) => disable::run(a, ctx).await,
    }
}

/// `anon enable|disable`: a project must have a stored script first (checked in dry runs too).
async fn toggle(
    project: Option<&str>,
    on: bool,
    confirm: &ConfirmArgs,
    ctx: &Context,
) -> Result<()> {
    let scope = Scope::of(project)?;
    let verb = if on { "Enable" } else { "Disable" };
    let mut rec = AuditRecord::new(format!("anon {}", verb.to_lowercase()));
    rec.project = scope.project().map(str::to_string);
    rec.detail("enable", Value::Bool(on));
    let question = format!("{verb} this anonymization script?");
    mutate(ctx, &question, confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        if let Scope::Project(p) = &scope {
            anon::require_project_script(client, p).await?;
        }
        let label = scope.label();
        let done = if on { "Enabled" } else { "Disabled" };
        if !mode.apply() {
            ctx.messages().dry_run(&format!(
                "Would {} the {label} anonymization script",
                verb.to_lowercase()
            ));
            return Ok(());
        }
        anon::set_enabled(client, &scope, on).await?;
        ctx.messages()
            .success(&format!("{done} the {label} anonymization script"));
        Ok(())
    })
    .await
}
