//! `xnatctl pipeline run NAME -E EXP [-P P] [--param K=V ...] [--wait [--timeout S]]`: launch,
//! find the job the launch created, and with `--wait` follow it to its end.

use std::time::Duration;

use clap::Args;
use serde_json::Value;

use crate::cli::shared::args::{ConfirmArgs, ProjectArg};
use crate::cli::shared::mutate::mutate;
use crate::cli::shared::poll;
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::poll::{job_failed, Step};
use crate::services::{custom_vars, experiments, pipelines};

/// Arguments of `pipeline run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Pipeline name (see `pipeline list -P PROJECT`)
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Experiment accession ID, or label with -P
    #[arg(short = 'E', long = "experiment", value_name = "ID_OR_LABEL")]
    pub experiment: String,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Pipeline parameter KEY=VALUE (repeatable)
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Wait until the job is Complete, Failed, Error or Killed (exit 1 when it failed)
    #[arg(long)]
    pub wait: bool,
    /// Give up waiting after this many seconds (exit 4; the job keeps running)
    #[arg(long, value_name = "SECONDS", default_value = "3600", value_parser = poll::seconds)]
    pub timeout: Duration,
    /// Resolve the experiment and show the launch, without launching
    #[arg(long)]
    pub dry_run: bool,
}

/// Run `pipeline run`.
pub async fn run(a: RunArgs, ctx: &Context) -> Result<()> {
    let params = if a.params.is_empty() {
        Vec::new()
    } else {
        custom_vars::parse_assignments(&a.params)?
    };
    let project = a.project.or_default(ctx);
    let mut rec = AuditRecord::new("pipeline run");
    rec.project = project.clone();
    rec.session = Some(a.experiment.clone());
    rec.detail("pipeline", Value::from(a.name.clone())).detail(
        "params",
        Value::from(params.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()),
    );
    // The reference launches without asking; --dry-run previews and every launch is audited.
    let confirm = ConfirmArgs {
        yes: true,
        dry_run: a.dry_run,
    };
    let name = a.name.clone();
    let started = mutate(
        ctx,
        "Launch this pipeline?",
        &confirm,
        rec,
        |mode, notes| {
            let (params, project, experiment) =
                (params.clone(), project.clone(), a.experiment.clone());
            let named = a.project.project.clone();
            async move {
                let client = ctx.client().await?;
                let e = experiments::resolve(client, project.as_deref(), &experiment).await?;
                // A shared session runs in the project named with -P (its pipelines and
                // settings); otherwise in its own (not the profile's default project).
                let project = named.or(e.project.clone()).or(project).unwrap_or_default();
                if !mode.apply() {
                    ctx.messages().dry_run(&format!(
                        "Would launch pipeline {name} on {} in project {project} with params: {}",
                        e.id,
                        params_json(&params)
                    ));
                    return Ok(None);
                }
                ctx.messages()
                    .info(&format!("Starting pipeline {name} on {}...", e.id));
                let started = pipelines::run(client, &project, &e.id, &name, &params).await?;
                notes.detail("job_id", Value::from(started.job_id));
                Ok(Some(started))
            }
        },
    )
    .await?;
    let Some(mut result) = started else {
        return Ok(());
    };
    let job_id = result.job_id.map(|i| i.to_string()).unwrap_or_default();
    if !a.wait {
        ctx.messages()
            .success(&format!("Pipeline started. Job ID: {job_id}"));
        return print(ctx, &result);
    }
    let client = ctx.client().await?;
    let plan = poll::plan(
        ctx,
        Duration::from_secs(5),
        Duration::from_secs(30),
        Some(a.timeout),
    );
    let what = format!("job {job_id}");
    let job = poll::wait(ctx, &plan, &what, || async {
        let job = pipelines::status(client, &job_id).await?;
        Ok(if pipelines::is_terminal(&job.status) {
            Step::Done(job)
        } else {
            Step::Pending(job.status.clone())
        })
    })
    .await?;
    let failed = pipelines::is_failure(&job.status);
    let (status, message) = (job.status.clone(), job.message.clone());
    result.final_status = Some(job);
    print(ctx, &result)?;
    if failed {
        return Err(job_failed(&what, &status, message.as_deref()));
    }
    ctx.messages()
        .success(&format!("Pipeline completed: {status}"));
    Ok(())
}

/// JSON prints the run record, `-q` the job id; a table prints nothing more on stdout (the
/// messages said it).
fn print(ctx: &Context, result: &pipelines::RunResult) -> Result<()> {
    if ctx.is_json() || ctx.global().quiet {
        return ctx.out().item(result);
    }
    Ok(())
}

/// The parameters as a JSON object, for the dry-run line.
fn params_json(params: &[(String, String)]) -> String {
    let m: serde_json::Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    Value::Object(m).to_string()
}
