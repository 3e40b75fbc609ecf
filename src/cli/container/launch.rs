//! `xnatctl container launch WRAPPER [-P P] [-E E] [--param K=V ...] [--wait [--timeout S]]`:
//! resolve the wrapper, check the project and that the wrapper is enabled there, then
//! `POST /xapi/projects/{p}/wrappers/{id}/launch`; `--wait` follows the new container to its end
//! (exit 1 when it did not complete, 4 at `--timeout`, 7 on Ctrl-C; it is never killed).

use std::time::Duration;

use clap::Args;
use serde_json::Value;

use crate::cli::shared::poll::{self, StatusLine};
use crate::cli::shared::{mutate, ConfirmArgs, ProjectArg};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::containers;
use crate::services::{commands, poll::job_failed};

/// Arguments of `container launch`.
#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// Wrapper id or name
    #[arg(value_name = "WRAPPER")]
    pub wrapper: String,
    #[command(flatten)]
    pub project: ProjectArg,
    /// The session to run on: passed as the wrapper's Session input
    #[arg(short = 'E', long = "experiment", value_name = "SESSION")]
    pub experiment: Option<String>,
    /// A launch parameter KEY=VALUE (repeatable)
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = containers::parse_param)]
    pub params: Vec<(String, String)>,
    /// Wait until the container ends, and print it
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this many seconds (exit 4; the container keeps running)
    #[arg(long, value_name = "SECONDS", default_value = "3600", value_parser = poll::seconds)]
    pub timeout: Duration,
    /// Show what would be launched and launch nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Run `container launch`.
pub async fn run(a: LaunchArgs, ctx: &Context) -> Result<()> {
    let project = a.project.require(ctx)?;
    let mut rec = AuditRecord::new("container launch");
    rec.project = Some(project.clone());
    rec.detail("wrapper", Value::from(a.wrapper.clone()));
    // A launch does not ask (as the reference); it is audited like every change.
    let confirm = ConfirmArgs {
        yes: true,
        dry_run: a.dry_run,
    };
    mutate(ctx, "Launch this wrapper?", &confirm, rec, |mode, notes| async move {
        let client = ctx.client().await?;
        let w = commands::resolve(client, &a.wrapper).await?;
        commands::ensure_project(client, &project).await?;
        let params = containers::launch_params(&w, &a.params, a.experiment.as_deref())?;
        containers::check_enabled(client, &project, &w).await?;
        let (wid, name) = (w.id(), w.name().to_string());
        notes.detail("wrapper_id", Value::from(wid));
        notes.detail("params", Value::Object(params.clone()));
        let params_text = Value::Object(params.clone()).to_string();
        if !mode.apply() {
            ctx.messages().dry_run(&format!(
                "Would launch wrapper {wid} ({name}) in project {project} with params: {params_text}"
            ));
            return Ok(());
        }
        ctx.messages()
            .info(&format!("Launching wrapper {wid} ({name}) in project {project}..."));
        let before = if a.wait {
            containers::snapshot(client, &project).await?
        } else {
            Default::default()
        };
        let report = containers::launch(client, &project, wid, &params).await?;
        notes.detail("workflow_id", Value::from(report.workflow_id()));
        if !a.wait {
            ctx.messages().success(&format!(
                "Launch queued: workflow-id={} wrapper-id={wid}",
                report.workflow_id()
            ));
            return ctx.out().either(&report, None);
        }
        let plan = poll::plan(
            ctx,
            Duration::from_secs(1),
            Duration::from_secs(5),
            Some(a.timeout),
        );
        let line = StatusLine::new(ctx, &format!("wrapper {wid} in {project}"));
        let c = containers::wait_for_launch(client, &project, wid, &report, &before, &plan, &line)
            .await?;
        drop(line);
        notes.detail("container", Value::from(c.id()));
        notes.detail("status", Value::from(c.status()));
        ctx.out().item(&c)?;
        if c.status() != "Complete" {
            let code = c.exit_code().map(|c| format!("exit code {c}"));
            return Err(job_failed(&format!("container {}", c.id()), c.status(), code.as_deref()));
        }
        Ok(())
    })
    .await
}
