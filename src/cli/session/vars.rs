//! `session vars` and `session vars set`: read and write a session's custom variables.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use futures::StreamExt;
use serde_json::json;

use super::listing;
use crate::cli::shared::{read_batch, ConfirmArgs};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::{Error, Result};
use crate::services::{experiments, sessions};

/// `session vars`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct VarsArgs {
    /// Session accession ID or label
    #[arg(short = 'E', long = "experiment", value_name = "ID_OR_LABEL")]
    pub experiment: Option<String>,
    /// Project (default: the profile's default_project)
    #[arg(short = 'P', long, value_name = "PROJECT")]
    pub project: Option<String>,
    #[command(subcommand)]
    pub command: Option<VarsCommand>,
}

/// `session vars` subcommands.
#[derive(Debug, Subcommand)]
pub enum VarsCommand {
    /// Set custom variables on one session or a batch of sessions
    Set(SetArgs),
}

/// `session vars set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Session accession ID or label
    #[arg(
        short = 'E',
        long = "experiment",
        value_name = "ID_OR_LABEL",
        conflicts_with = "batch",
        required_unless_present = "batch"
    )]
    pub experiment: Option<String>,
    /// File with one session per line (or a JSON array); `-` reads stdin
    #[arg(long, value_name = "FILE")]
    pub batch: Option<PathBuf>,
    /// Project (default: the profile's default_project)
    #[arg(short = 'P', long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// Sessions to work on at once in a batch
    #[arg(short = 'w', long, value_name = "N")]
    pub workers: Option<usize>,
    /// Variables to set
    #[arg(value_name = "KEY=VALUE", required = true)]
    pub vars: Vec<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `session vars [set]`.
pub async fn run(a: VarsArgs, ctx: &Context) -> Result<()> {
    if let Some(VarsCommand::Set(s)) = a.command {
        return run_set(s, ctx).await;
    }
    let Some(experiment) = a.experiment else {
        return Err(Error::usage("session vars needs -E/--experiment"));
    };
    let project = ctx.project_or_default(a.project.as_deref());
    let client = ctx.client().await?;
    let e = experiments::resolve(client, project.as_deref(), &experiment).await?;
    let vars = sessions::vars(client, &e).await?;
    let l = listing(&vars, &[("name", "Name"), ("value", "Value")], "name")?;
    ctx.out().list(&l)
}

async fn run_set(a: SetArgs, ctx: &Context) -> Result<()> {
    let vars = sessions::parse_assignments(&a.vars)?;
    let targets = match (&a.experiment, &a.batch) {
        (Some(e), _) => vec![e.clone()],
        (None, Some(b)) => read_batch(b, a.confirm.yes || a.confirm.dry_run)?,
        (None, None) => return Err(Error::usage("give -E/--experiment or --batch")),
    };
    let go = ctx.confirm(
        "Set these custom variables?",
        a.confirm.yes,
        a.confirm.dry_run,
    )?;
    let project = ctx.project_or_default(a.project.as_deref());
    let mut rec = AuditRecord::new("session vars set");
    rec.project = project.clone();
    rec.session = a.experiment.clone();
    rec.dry_run = !go;
    rec.detail(
        "names",
        json!(vars.iter().map(|(k, _)| k).collect::<Vec<_>>()),
    );
    if targets.len() > 1 {
        rec.detail("sessions", json!(targets));
    }
    let client = match ctx.client().await {
        Ok(c) => c,
        Err(e) => {
            rec.error = Some(e.to_string());
            ctx.audit(rec);
            return Err(e);
        }
    };
    let workers = a
        .workers
        .unwrap_or(crate::core::validation::DEFAULT_WORKERS)
        .max(1);
    let outcomes: Vec<(String, Result<String>)> = futures::stream::iter(targets.iter().cloned())
        .map(|t| {
            let project = project.clone();
            let vars = &vars;
            async move {
                let r = async {
                    let e = experiments::resolve(client, project.as_deref(), &t).await?;
                    if go {
                        sessions::set_vars(client, &e, vars).await?;
                    }
                    Ok(e.id)
                }
                .await;
                (t, r)
            }
        })
        .buffered(workers)
        .collect()
        .await;
    let failed = outcomes.iter().filter(|(_, r)| r.is_err()).count();
    rec.success = failed == 0;
    if failed > 0 {
        rec.error = Some(format!("{failed} of {} sessions failed", outcomes.len()));
    }
    ctx.audit(rec);
    for (t, r) in &outcomes {
        match r {
            Ok(id) if go => ctx
                .messages()
                .success(&format!("Set {} variable(s) on {id}", vars.len())),
            Ok(id) => ctx
                .messages()
                .dry_run(&format!("would set {} variable(s) on {id}", vars.len())),
            Err(e) => ctx.messages().error(&Error::Operation(format!("{t}: {e}"))),
        }
    }
    match (failed, outcomes.len()) {
        (0, _) => Ok(()),
        (1, 1) => Err(outcomes
            .into_iter()
            .next()
            .and_then(|(_, r)| r.err())
            .unwrap_or(Error::Batch {
                failed: 1,
                total: 1,
            })),
        (failed, total) => Err(Error::Batch { failed, total }),
    }
}
