//! `admin user remove USERNAME -P PROJECT`: take a user out of every group of a project (asks
//! first, audited).

use clap::Args;
use serde_json::Value;

use crate::cli::shared::{mutate, ConfirmArgs, ProjectArg};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::projects as access;

/// Arguments of `admin user remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Username
    pub username: String,
    #[command(flatten)]
    pub project: ProjectArg,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `admin user remove`.
pub async fn run(a: RemoveArgs, ctx: &Context) -> Result<()> {
    let project = a.project.require(ctx)?;
    let mut rec = AuditRecord::new("admin user remove");
    rec.project = Some(project.clone());
    rec.detail("username", Value::from(a.username.clone()));
    let username = a.username;
    mutate(
        ctx,
        "Remove this user from the project's groups?",
        &a.confirm,
        rec,
        |mode, notes| async move {
            let client = ctx.client().await?;
            let m = access::membership(client, &project, &username).await?;
            notes.detail("groups", Value::from(m.groups.clone()));
            let groups = m.groups.join(", ");
            if !mode.apply() {
                ctx.messages().dry_run(&format!(
                    "would remove {} from project {project} (groups: {groups})",
                    m.login
                ));
                return Ok(());
            }
            access::revoke(client, &project, &m).await?;
            ctx.messages().success(&format!(
                "Removed {} from project {project} (groups: {groups})",
                m.login
            ));
            Ok(())
        },
    )
    .await
}
