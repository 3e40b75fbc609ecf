//! `session normalize-labels`: plan label renames to `SUBJECT_VV_SEnn_MOD`, then apply them one
//! at a time, waiting on each rename's history event.

use clap::Args;
use serde_json::json;

use crate::cli::shared::{mutate, ConfirmArgs, ProjectArg};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::validation::validate_regex_pattern;
use crate::core::{Error, Result};
use crate::services::sessions::{self, Outcome, PollTimes};

/// `session normalize-labels`.
#[derive(Debug, Args)]
pub struct NormalizeArgs {
    #[command(flatten)]
    pub project: ProjectArg,
    /// Only subjects whose label matches this regular expression
    #[arg(long, value_name = "RE")]
    pub subject_pattern: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `session normalize-labels`.
pub async fn run(a: NormalizeArgs, ctx: &Context) -> Result<()> {
    let pattern = a
        .subject_pattern
        .as_deref()
        .map(validate_regex_pattern)
        .transpose()?;
    let project = a.project.require(ctx)?;
    let mut rec = AuditRecord::new("session normalize-labels");
    rec.project = Some(project.clone());
    if let Some(p) = &a.subject_pattern {
        rec.detail("subject_pattern", json!(p));
    }
    let question = "Rename experiment labels to the standardized convention?";
    mutate(ctx, question, &a.confirm, rec, |mode, notes| async move {
        let client = ctx.client().await?;
        let rows = sessions::plan_rows(client, &project).await?;
        let plan = sessions::plan(&rows, pattern.as_ref());
        notes.detail("renames", json!(plan.renames.len()));
        let (renames, skipped) = (plan.renames.len(), plan.skipped.len());
        let outcome = if mode.apply() {
            sessions::apply_plan(client, plan, PollTimes::from_env()).await?
        } else {
            Outcome::preview(plan)
        };
        ctx.out().report(&outcome)?;
        if !outcome.failed.is_empty() {
            return Err(Error::Batch {
                failed: outcome.failed.len(),
                total: renames,
            });
        }
        if mode.apply() {
            ctx.messages().success(&format!(
                "Renamed {renames} experiment label(s), skipped {skipped}"
            ));
        } else {
            ctx.messages().dry_run(&format!(
                "would rename {renames} experiment label(s), skip {skipped}"
            ));
        }
        Ok(())
    })
    .await
}
