//! `admin user add USERNAME GROUP... [--projects A,B] [--role ROLE]`: add a user to groups
//! (asks first, audited).

use clap::Args;
use serde_json::Value;

use crate::cli::shared::{mutate, ConfirmArgs};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::{Error, Result};
use crate::services::users;

/// Arguments of `admin user add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Username
    pub username: String,
    /// Group ids (`PROJECT_owner|member|collaborator`, ...)
    #[arg(required = true)]
    pub groups: Vec<String>,
    /// Also add to `<PROJECT>_<ROLE>` for each of these projects (comma-separated)
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub projects: Vec<String>,
    /// Role for `--projects`
    #[arg(long, default_value = "member")]
    pub role: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `admin user add`.
pub async fn run(a: AddArgs, ctx: &Context) -> Result<()> {
    let mut groups = a.groups;
    groups.extend(a.projects.iter().map(|p| format!("{p}_{}", a.role)));
    let mut rec = AuditRecord::new("admin user add");
    rec.detail("username", Value::from(a.username.clone()));
    rec.detail("groups", Value::from(groups.clone()));
    let username = a.username;
    mutate(
        ctx,
        "Add this user to these groups?",
        &a.confirm,
        rec,
        |mode, _| async move {
            if !mode.apply() {
                ctx.messages().dry_run(&format!(
                    "would add {username} to {} groups: {}",
                    groups.len(),
                    groups.join(", ")
                ));
                return Ok(());
            }
            let done = users::add_to_groups(ctx.client().await?, &username, &groups).await?;
            ctx.out().report(&done)?;
            let n = groups.len();
            if done.failed.is_empty() {
                ctx.messages()
                    .success(&format!("Added {username} to {n} groups"));
                return Ok(());
            }
            ctx.messages().success(&format!(
                "Added {username} to {}/{n} groups",
                done.added.len()
            ));
            Err(Error::Operation(format!(
                "Failed to add to {} groups: {}",
                done.failed.len(),
                done.failed.join(", ")
            )))
        },
    )
    .await
}
