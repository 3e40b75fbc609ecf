//! `admin user enable USERNAME`: enable an account (asks first, audited).

use clap::Args;
use serde_json::Value;

use crate::cli::shared::{mutate, ConfirmArgs};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::users;

/// Arguments of `admin user enable`.
#[derive(Debug, Args)]
pub struct EnableArgs {
    /// Username
    pub username: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `admin user enable`.
pub async fn run(a: EnableArgs, ctx: &Context) -> Result<()> {
    set_enabled(ctx, a.username, a.confirm, true).await
}

/// Enable or disable `username` through the shared confirm → act → audit path.
pub async fn set_enabled(
    ctx: &Context,
    username: String,
    confirm: ConfirmArgs,
    enabled: bool,
) -> Result<()> {
    let (verb, question, done) = if enabled {
        ("enable", "Enable this user account?", "Enabled")
    } else {
        ("disable", "Disable this user account?", "Disabled")
    };
    let mut rec = AuditRecord::new(format!("admin user {verb}"));
    rec.detail("username", Value::from(username.clone()));
    mutate(ctx, question, &confirm, rec, |mode, _| async move {
        if !mode.apply() {
            ctx.messages()
                .dry_run(&format!("would {verb} user: {username}"));
            return Ok(());
        }
        users::set_enabled(ctx.client().await?, &username, enabled).await?;
        ctx.messages().success(&format!("{done} user: {username}"));
        Ok(())
    })
    .await
}
