//! `admin user roles USERNAME [--grant ROLE | --revoke ROLE]`: list a user's site roles, or
//! change one (asks first, audited).

use clap::Args;
use serde_json::Value;

use crate::cli::shared::{mutate, ConfirmArgs};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::output::ListControls;
use crate::core::{Error, Result};
use crate::services::users;

/// Arguments of `admin user roles`.
#[derive(Debug, Args)]
pub struct RolesArgs {
    /// Username
    pub username: String,
    /// Grant this site role (e.g. Administrator)
    #[arg(long, value_name = "ROLE", conflicts_with = "revoke")]
    pub grant: Option<String>,
    /// Revoke this site role
    #[arg(long, value_name = "ROLE")]
    pub revoke: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `admin user roles`.
pub async fn run(a: RolesArgs, ctx: &Context) -> Result<()> {
    let (role, grant) = match (a.grant, a.revoke) {
        (None, None) => {
            let rows = users::roles(ctx.client().await?, &a.username).await?;
            return ctx.out().rows(&rows, &ListControls::default());
        }
        (Some(r), _) => (r, true),
        (None, Some(r)) => (r, false),
    };
    if role.trim().is_empty() {
        return Err(Error::usage("the role must not be blank"));
    }
    let verb = if grant { "grant" } else { "revoke" };
    let mut rec = AuditRecord::new("admin user roles");
    rec.detail("username", Value::from(a.username.clone()));
    rec.detail(verb, Value::from(role.clone()));
    let username = a.username;
    mutate(
        ctx,
        "Modify this user's roles?",
        &a.confirm,
        rec,
        |mode, _| async move {
            if !mode.apply() {
                ctx.messages()
                    .dry_run(&format!("would {verb} role {role} for user: {username}"));
                return Ok(());
            }
            users::change_role(ctx.client().await?, &username, &role, grant).await?;
            let done = if grant { "Granted" } else { "Revoked" };
            ctx.messages()
                .success(&format!("{done} role {role} for user: {username}"));
            Ok(())
        },
    )
    .await
}
