//! `subject vars SUBJECT` (read) and `subject vars set [SUBJECT] KEY=VALUE…` (write).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::collect_ids;
use crate::cli::shared::{batch, mutate, ConfirmArgs, Mode, ProjectArg};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::output::ListControls;
use crate::core::validation::{validate_subject_id, DEFAULT_WORKERS};
use crate::core::{Error, Result};
use crate::services::subjects;

/// Arguments of `subject vars`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct VarsArgs {
    /// Subject id or label whose variables to show
    pub subject: Option<String>,
    #[command(flatten)]
    pub project: ProjectArg,
    #[command(subcommand)]
    pub cmd: Option<VarsCommand>,
}

/// `subject vars` subcommands.
#[derive(Debug, Subcommand)]
pub enum VarsCommand {
    /// Set custom variables (all pairs in one request per subject)
    Set(SetArgs),
}

/// Arguments of `subject vars set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// SUBJECT_ID then KEY=VALUE pairs (with --batch, only pairs)
    #[arg(required = true, value_name = "[SUBJECT_ID] KEY=VALUE")]
    pub args: Vec<String>,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Read subject ids from FILE (`-` for stdin): one per line or a JSON array
    #[arg(long, value_name = "FILE")]
    pub batch: Option<PathBuf>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `subject vars [set]`.
pub async fn run(a: VarsArgs, ctx: &Context) -> Result<()> {
    match a.cmd {
        Some(VarsCommand::Set(s)) => set(s, ctx).await,
        None => {
            let subject = a
                .subject
                .ok_or_else(|| Error::usage("give a SUBJECT_ID, or use `subject vars set`"))?;
            let project = ctx.require_project(a.project.project.as_deref())?;
            validate_subject_id(&subject)?;
            let vars = subjects::vars(ctx.client().await?, &project, &subject).await?;
            ctx.out().rows(&vars, &ListControls::default())
        }
    }
}

async fn set(a: SetArgs, ctx: &Context) -> Result<()> {
    let project = ctx.require_project(a.project.project.as_deref())?;
    let (single, raw_pairs) = if a.batch.is_some() {
        (None, &a.args[..])
    } else {
        (Some(a.args[0].as_str()), &a.args[1..])
    };
    let pairs = subjects::parse_assignments(raw_pairs)?;
    let ids = collect_ids(single, a.batch.as_ref(), &a.confirm)?;
    let mut rec = AuditRecord::new("subject vars set");
    rec.project = Some(project.clone());
    if a.batch.is_none() {
        rec.subject = Some(ids[0].clone());
    } else {
        rec.detail("subjects", Value::from(ids.clone()));
    }
    let names: Vec<Value> = pairs.iter().map(|(k, _)| Value::from(k.clone())).collect();
    rec.detail("variables", Value::Array(names));
    let question = "Set these custom variables?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        let (project, pairs) = (project.as_str(), &pairs);
        let outcomes = batch::run(&ids, DEFAULT_WORKERS, |id| {
            subjects::set_vars(client, project, id, pairs, mode.apply())
        })
        .await;
        let n = pairs.len();
        let wording = batch::Wording {
            item: |id: &str, _: &()| match mode {
                Mode::Apply => format!("Set {n} variable(s) on subject {id}"),
                Mode::Preview => format!("Would set {n} variable(s) on subject {id}"),
            },
            done: "Set the variables on {n} subject(s)",
            preview: "would set the variables on {n} subject(s)",
        };
        batch::report(ctx, &ids, outcomes, mode, a.batch.is_none(), wording)
    })
    .await
}
