//! `session vars` and `session vars set`: read and write a session's custom variables.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::cli::shared::{batch, mutate, read_batch, ConfirmArgs, Mode, ProjectArg, WorkersArg};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::output::ListControls;
use crate::core::{Error, Result};
use crate::services::{experiments, sessions};

/// `session vars`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct VarsArgs {
    /// Session accession ID or label (labels need a project)
    #[arg(short = 'E', long = "experiment", value_name = "ID_OR_LABEL")]
    pub experiment: Option<String>,
    #[command(flatten)]
    pub project: ProjectArg,
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
    /// Session accession ID or label (labels need a project)
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
    #[command(flatten)]
    pub project: ProjectArg,
    #[command(flatten)]
    pub workers: WorkersArg,
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
    let project = a.project.or_default(ctx);
    let client = ctx.client().await?;
    let e = experiments::resolve(client, project.as_deref(), &experiment).await?;
    let vars = sessions::vars(client, &e).await?;
    ctx.out().rows(&vars, &ListControls::default())
}

async fn run_set(a: SetArgs, ctx: &Context) -> Result<()> {
    let vars = sessions::parse_assignments(&a.vars)?;
    let targets = match (&a.experiment, &a.batch) {
        (Some(e), _) => vec![e.clone()],
        (None, Some(b)) => read_batch(b, a.confirm.unattended())?,
        (None, None) => return Err(Error::usage("give -E/--experiment or --batch")),
    };
    let project = a.project.or_default(ctx);
    let workers = a.workers.resolve(ctx);
    let mut rec = AuditRecord::new("session vars set");
    rec.project = project.clone();
    rec.session = a.experiment.clone();
    rec.detail(
        "names",
        json!(vars.iter().map(|(k, _)| k).collect::<Vec<_>>()),
    );
    if targets.len() > 1 {
        rec.detail("sessions", json!(targets));
    }
    let question = "Set these custom variables?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        let (project, vars) = (project.as_deref(), &vars);
        let outcomes = batch::run(&targets, workers, |t| async move {
            let e = experiments::resolve(client, project, t).await?;
            if mode.apply() {
                sessions::set_vars(client, &e, vars).await?;
            }
            Ok(e.id)
        })
        .await;
        let n = vars.len();
        let single = a.batch.is_none();
        let wording = batch::Wording {
            item: |_: &str, id: &String| match mode {
                Mode::Apply => format!("Set {n} variable(s) on {id}"),
                Mode::Preview => format!("would set {n} variable(s) on {id}"),
            },
            done: "Set the variables on {n} session(s)",
            preview: "would set the variables on {n} session(s)",
        };
        batch::report(ctx, &targets, outcomes, mode, single, wording)
    })
    .await
}
