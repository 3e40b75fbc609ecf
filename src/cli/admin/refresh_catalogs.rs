//! `xnatctl admin refresh-catalogs PROJECT [-O OPT] [-E ID] [--limit N] [-w N]`: ask the server
//! to refresh every experiment's catalogs, on a bounded pool with the shared batch report.

use clap::Args;
use serde_json::Value;

use crate::cli::shared::{batch, mutate, ConfirmArgs, Mode, WorkersArg};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::validation::validate_project_id;
use crate::core::Result;
use crate::services::catalogs;

/// Arguments of `admin refresh-catalogs`.
#[derive(Debug, Args)]
pub struct RefreshCatalogsArgs {
    /// Project id
    pub project: String,
    /// Refresh option (repeatable)
    #[arg(short = 'O', long = "option", value_name = "OPT",
          value_parser = ["checksum", "delete", "append", "populateStats"])]
    pub options: Vec<String>,
    /// Only this experiment accession id (repeatable)
    #[arg(short = 'E', long = "experiment", value_name = "ID")]
    pub experiments: Vec<String>,
    /// Refresh at most N experiments
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub workers: WorkersArg,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `admin refresh-catalogs`.
pub async fn run(a: RefreshCatalogsArgs, ctx: &Context) -> Result<()> {
    let project = validate_project_id(&a.project)?;
    let workers = a.workers.resolve(ctx);
    let mut rec = AuditRecord::new("admin refresh-catalogs");
    rec.project = Some(project.clone());
    rec.detail("options", Value::from(a.options.clone()));
    let (options, wanted, limit) = (a.options, a.experiments, a.limit);
    mutate(
        ctx,
        "Refresh these experiments' catalogs?",
        &a.confirm,
        rec,
        |mode, _| async move {
            let client = ctx.client().await?;
            let mut targets = catalogs::targets(client, &project).await?;
            if targets.is_empty() {
                ctx.messages()
                    .info(&format!("No experiments found for project {project}"));
                return Ok(());
            }
            if !wanted.is_empty() {
                targets.retain(|t| wanted.contains(&t.id));
            }
            if let Some(n) = limit {
                targets.truncate(n);
            }
            if targets.is_empty() {
                ctx.messages().info("No experiments matched selection");
                return Ok(());
            }
            let ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
            let (project, options, targets) = (&project, &options, &targets);
            let outcomes = batch::run(&ids, workers, |id| async move {
                let t = targets.iter().find(|t| t.id == id).expect("listed");
                if mode.apply() {
                    catalogs::refresh(client, project, t, options).await?;
                }
                Ok(())
            })
            .await;
            let wording = batch::Wording {
                item: |id: &str, _: &()| match mode {
                    Mode::Apply => format!("Refreshed {id}"),
                    Mode::Preview => format!("would refresh {id}"),
                },
                done: "Refreshed {n} experiments",
                preview: "would refresh {n} experiments",
            };
            batch::report(ctx, &ids, outcomes, mode, false, wording)
        },
    )
    .await
}
