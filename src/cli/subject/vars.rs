//! `subject vars SUBJECT` (read) and `subject vars set [SUBJECT] KEY=VALUE…` (write).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::super::common::ConfirmArgs;
use super::super::project::{audited, listing, print_listing, to_rows};
use super::{collect_ids, for_each_id, ProjectArg};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::validation::validate_subject_id;
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
            let l = listing(
                to_rows(&vars)?,
                &[("name", "Name"), ("value", "Value")],
                "name",
                &Default::default(),
            )?;
            print_listing(ctx, &l)
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
    let pairs = subjects::parse_pairs(raw_pairs)?;
    let ids = collect_ids(single, a.batch.as_ref(), &a.confirm)?;
    let go = ctx.confirm(
        "Set these custom variables?",
        a.confirm.yes,
        a.confirm.dry_run,
    )?;
    let mut rec = AuditRecord::new("subject vars set");
    rec.project = Some(project.clone());
    rec.dry_run = !go;
    if a.batch.is_none() {
        rec.subject = Some(ids[0].clone());
    } else {
        rec.detail("subjects", Value::from(ids.clone()));
    }
    let names: Vec<Value> = pairs.iter().map(|(k, _)| Value::from(k.clone())).collect();
    rec.detail("variables", Value::Array(names));
    let result = async {
        let client = ctx.client().await?;
        let (project, pairs) = (project.as_str(), &pairs);
        for_each_id(ctx, &ids, a.batch.is_some(), |id| async move {
            subjects::set_vars(client, project, id, pairs, go).await?;
            Ok(if go {
                format!("Set {} variable(s) on subject {id}", pairs.len())
            } else {
                format!(
                    "[dry-run] Would set {} variable(s) on subject {id}",
                    pairs.len()
                )
            })
        })
        .await
    }
    .await;
    audited(ctx, rec, result)
}
