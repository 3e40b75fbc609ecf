//! `vars apply FILE`: push an edited export back (diff, confirm, bounded parallel PUTs, re-read).

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::LevelArg;
use crate::cli::shared::{batch, mutate, ConfirmArgs, ProjectArg, WorkersArg};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::output::ListControls;
use crate::core::{Error, Result};
use crate::services::metadata::{self, sheet, ChangeRow, Level, Status};

/// Arguments of `vars apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The edited file (.csv, .tsv or .json; Excel's CSV flavours are read too)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub project: ProjectArg,
    /// What the rows are [default: session when the file has a 'subject' column, else subject]
    #[arg(long, value_enum)]
    pub level: Option<LevelArg>,
    /// Take columns that are not yet variables of the project as new free-form variables
    #[arg(long)]
    pub add_vars: bool,
    #[command(flatten)]
    pub workers: WorkersArg,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `vars apply`.
pub async fn run(a: ApplyArgs, ctx: &Context) -> Result<()> {
    let table = sheet::read(&a.file)?;
    let level: Level = a.level.map_or_else(|| Level::of_sheet(&table), Level::from);
    let project = a.project.require(ctx)?;
    let workers = a.workers.resolve(ctx);
    let client = ctx.client().await?;
    let snap = metadata::snapshot(client, &project, level).await?;
    let plan = metadata::plan(&snap, &table, a.add_vars)?;
    for w in &plan.warnings {
        ctx.messages().warn(w);
    }
    let noun = level.noun();
    if plan.changes.is_empty() {
        ctx.messages().success(&format!(
            "Nothing to change: the {} row(s) of {} match {project}",
            plan.rows,
            a.file.display()
        ));
        return ctx.out().rows::<ChangeRow>(&[], &ListControls::default());
    }
    let ids = plan.object_ids();
    let n = plan.changes.len();
    if !a.confirm.unattended() {
        for c in &plan.changes {
            ctx.messages().info(&format!(
                "{}  {}: '{}' -> '{}'",
                c.object, c.field, c.old, c.new
            ));
        }
    }
    let question = format!("Change {n} value(s) on {} {noun}(s)?", ids.len());
    let mut rec = AuditRecord::new("vars apply");
    rec.project = Some(project.clone());
    rec.detail("file", Value::from(a.file.display().to_string()));
    rec.detail("level", Value::from(noun));
    rec.detail("values", Value::from(n));
    rec.detail("objects", Value::from(ids.clone()));
    let (snap, plan) = (&snap, &plan);
    mutate(ctx, &question, &a.confirm, rec, |mode, notes| async move {
        if !mode.apply() {
            let rows: Vec<ChangeRow> = plan
                .changes
                .iter()
                .map(|c| ChangeRow::of(c, Status::DryRun, None))
                .collect();
            ctx.out().rows(&rows, &ListControls::default())?;
            ctx.messages().dry_run(&format!(
                "would change {n} value(s) on {} {noun}(s)",
                ids.len()
            ));
            return Ok(());
        }
        let outcomes = batch::run(&ids, workers, |id| {
            metadata::put_changes(client, snap, id, &plan.changes)
        })
        .await;
        let rows = metadata::settle(client, snap, plan, &ids, &outcomes).await?;
        let mut failed = 0;
        for r in &rows {
            if let Some(e) = &r.error {
                failed += 1;
                ctx.messages()
                    .warn(&format!("{} {}: {e}", r.object, r.field));
            }
        }
        ctx.out().rows(&rows, &ListControls::default())?;
        notes.detail("failed", Value::from(failed));
        if failed > 0 {
            return Err(Error::Batch { failed, total: n });
        }
        ctx.messages().success(&format!(
            "Changed {n} value(s) on {} {noun}(s); re-read: every value kept",
            ids.len()
        ));
        Ok(())
    })
    .await
}
