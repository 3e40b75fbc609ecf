//! `admin user kill-sessions USERNAME`: end every active session of a user (asks first, audited).

use clap::Args;
use serde_json::Value;

use crate::cli::shared::{mutate, ConfirmArgs};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::users;

/// Arguments of `admin user kill-sessions`.
#[derive(Debug, Args)]
pub struct KillSessionsArgs {
    /// Username
    pub username: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `admin user kill-sessions`.
pub async fn run(a: KillSessionsArgs, ctx: &Context) -> Result<()> {
    let mut rec = AuditRecord::new("admin user kill-sessions");
    rec.detail("username", Value::from(a.username.clone()));
    let username = a.username;
    mutate(
        ctx,
        "Terminate this user's active sessions?",
        &a.confirm,
        rec,
        |mode, _| async move {
            if !mode.apply() {
                ctx.messages()
                    .dry_run(&format!("would terminate active sessions for: {username}"));
                return Ok(());
            }
            match users::kill_sessions(ctx.client().await?, &username).await? {
                users::KilledSessions::Ended => ctx
                    .messages()
                    .success(&format!("Terminated active sessions for: {username}")),
                users::KilledSessions::NoneActive => ctx.messages().info(&format!(
                    "No active sessions for: {username} (nothing to terminate)"
                )),
            }
            Ok(())
        },
    )
    .await
}
