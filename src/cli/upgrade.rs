//! `xnatctl upgrade [--check] [--version V]`: replace this binary with a newer release.

use clap::Args;

use super::shared::{mutate, ConfirmArgs};
use super::Context;
use crate::core::audit::AuditRecord;
use crate::core::{Error, Result};
use crate::services::upgrade::{self, install, release, Releases};

/// Arguments of `upgrade`.
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Only report whether a newer release exists (exit 100 when one does)
    #[arg(long)]
    pub check: bool,
    /// Install this version instead of the newest (a downgrade too)
    #[arg(long = "version", value_name = "V")]
    pub version: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `upgrade`.
pub async fn run(a: UpgradeArgs, ctx: &Context) -> Result<()> {
    let requested = a
        .version
        .as_deref()
        .map(release::parse_version)
        .transpose()?;
    let base = std::env::var(release::RELEASES_URL_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| release::DEFAULT_RELEASES_URL.to_string());
    let exe = upgrade::current_exe()?;
    let installation = install::detect(&exe, upgrade::cargo_home().as_deref());
    let plan = upgrade::plan(&Releases::new(&base)?, requested.as_ref(), installation).await?;
    let check = &plan.check;

    if a.check {
        ctx.out().item(check)?;
        return if check.update_available {
            Err(Error::UpdateAvailable {
                current: check.current_version.clone(),
                latest: check.latest_version.clone(),
            })
        } else {
            Ok(())
        };
    }
    if requested.is_none() && !check.update_available {
        ctx.messages().success(&format!(
            "xnatctl is up to date ({})",
            check.current_version
        ));
        return ctx.out().item(check);
    }
    if let Some(command) = &check.upgrade_command {
        return Err(Error::Operation(format!(
            "{} is managed by {}: run `{command}` instead",
            check.path, check.install_method
        )));
    }
    if check.archive.is_none() {
        return Err(Error::not_found(
            "release archive",
            format!("xnatctl {} for {}", check.latest_version, check.target),
        ));
    }

    let mut record = AuditRecord::new("upgrade");
    record.detail("from", check.current_version.clone().into());
    record.detail("to", check.latest_version.clone().into());
    let question = format!(
        "Replace {} ({}) with xnatctl {}?",
        check.path, check.current_version, check.latest_version
    );
    let done = mutate(ctx, &question, &a.confirm, record, |mode, _notes| {
        let plan = &plan;
        let exe = &exe;
        async move {
            if mode.apply() {
                upgrade::install(plan, exe).await.map(Some)
            } else {
                Ok(None)
            }
        }
    })
    .await?;
    match done {
        Some(up) => {
            ctx.messages()
                .success(&format!("Upgraded {} to {}", up.path, up.version));
            ctx.out().item(&up)
        }
        None => ctx.out().item(check),
    }
}
