//! `xnatctl pipeline cancel JOB`: mark the job's workflow `Killed` (a dry run checks it exists).

use clap::Args;
use serde_json::Value;

use crate::cli::shared::args::ConfirmArgs;
use crate::cli::shared::mutate::mutate;
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::pipelines;

/// Arguments of `pipeline cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// Job id (the workflow number `pipeline run` and `pipeline jobs` print)
    #[arg(value_name = "JOB")]
    pub job: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `pipeline cancel`.
pub async fn run(a: CancelArgs, ctx: &Context) -> Result<()> {
    let job = a.job;
    let mut rec = AuditRecord::new("pipeline cancel");
    rec.detail("job", Value::from(job.clone()));
    let question = "Cancel pipeline job? This cannot be undone.";
    mutate(ctx, question, &a.confirm, rec, |mode, notes| async move {
        let client = ctx.client().await?;
        let current = pipelines::status(client, &job).await?;
        notes.detail("pipeline", Value::from(current.pipeline.clone()));
        notes.detail("experiment", Value::from(current.experiment.clone()));
        if !mode.apply() {
            ctx.messages().dry_run(&format!(
                "Would cancel job {job} ({} on {}, now {})",
                current.pipeline, current.experiment, current.status
            ));
            return Ok(());
        }
        pipelines::cancel(client, &job).await?;
        ctx.messages().success(&format!("Cancelled job {job}"));
        Ok(())
    })
    .await
}
