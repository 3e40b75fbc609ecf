//! `xnatctl pipeline status JOB [--watch [--interval S]]`: the job's workflow record; `--watch`
//! polls until it ends (exit 1 when it failed, 7 on Ctrl-C).

use std::time::Duration;

use clap::Args;

use crate::cli::shared::poll;
use crate::cli::Context;
use crate::core::Result;
use crate::services::pipelines;
use crate::services::poll::{job_failed, Step};

/// How long `--watch` follows a job before giving up (the reference's fixed 24 hours).
const WATCH_TIMEOUT: Duration = Duration::from_secs(86_400);

/// Arguments of `pipeline status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Job id (the workflow number `pipeline run` and `pipeline jobs` print)
    #[arg(value_name = "JOB")]
    pub job: String,
    /// Poll until the job is Complete, Failed, Error or Killed
    #[arg(long)]
    pub watch: bool,
    /// Seconds between polls with --watch
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = poll::seconds)]
    pub interval: Duration,
}

/// Run `pipeline status`.
pub async fn run(a: StatusArgs, ctx: &Context) -> Result<()> {
    let client = ctx.client().await?;
    if !a.watch {
        let job = pipelines::status(client, &a.job).await?;
        return ctx.out().item(&job);
    }
    let plan = poll::plan(ctx, a.interval, a.interval, Some(WATCH_TIMEOUT));
    let what = format!("job {}", a.job);
    let job = poll::wait(ctx, &plan, &what, || async {
        let job = pipelines::status(client, &a.job).await?;
        Ok(if pipelines::is_terminal(&job.status) {
            Step::Done(job)
        } else {
            Step::Pending(job.status.clone())
        })
    })
    .await?;
    ctx.out().item(&job)?;
    if pipelines::is_failure(&job.status) {
        return Err(job_failed(&what, &job.status, job.message.as_deref()));
    }
    ctx.messages()
        .success(&format!("Job completed: {}", job.status));
    Ok(())
}
