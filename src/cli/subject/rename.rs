//! `subject rename`: relabel subjects from a mapping file, a pattern, or a patterns file. When
//! the target label already exists the subject's sessions are merged into it. Unlike the
//! reference, the command asks for confirmation and is audited.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use crate::cli::shared::{mutate, ConfirmArgs, ProjectArg};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::validation::validate_project_id;
use crate::core::{Error, Result};
use crate::services::projects::cell;
use crate::services::subjects;
use crate::services::subjects::rename::{self, PatternsFile, Rule, Source};

/// Arguments of `subject rename`.
#[derive(Debug, Args)]
pub struct RenameArgs {
    #[command(flatten)]
    pub project: ProjectArg,
    /// JSON file `{"patterns":[{"project","match","to","description"}]}`
    #[arg(long, value_name = "FILE", conflicts_with_all = ["mapping", "pattern"])]
    pub patterns_file: Option<PathBuf>,
    /// JSON file `{"OLD": "NEW", ...}`
    #[arg(long, value_name = "FILE", conflicts_with = "pattern")]
    pub mapping: Option<PathBuf>,
    /// Regex that must match the whole label; groups feed `--to`
    #[arg(long, value_name = "RE", requires = "to")]
    pub pattern: Option<String>,
    /// Target template: `{project}` and the capture groups `{1}`, `{2}`, ...
    #[arg(long, value_name = "TEMPLATE", requires = "pattern")]
    pub to: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

fn read_json(path: &PathBuf) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("{}: invalid JSON ({e})", path.display())))
}

/// Run `subject rename`.
pub async fn run(a: RenameArgs, ctx: &Context) -> Result<()> {
    let patterns = a
        .patterns_file
        .as_ref()
        .map(|p| read_json(p).map(PatternsFile::new))
        .transpose()?;
    let project = match (a.project.or_default(ctx), &patterns) {
        (Some(p), _) => p,
        (None, Some(file)) => match file.project()? {
            Some(p) => p,
            None => a.project.require(ctx)?,
        },
        (None, None) => a.project.require(ctx)?,
    };
    validate_project_id(&project)?;
    let source =
        match (&patterns, &a.mapping, &a.pattern, &a.to) {
            (Some(file), _, _, _) => Source::Rules(file.rules(&project)?),
            (None, Some(path), _, _) => match read_json(path)? {
                Value::Object(m) => Source::Mapping(m),
                _ => {
                    return Err(Error::usage(
                        "--mapping must be a JSON object {\"old\": \"new\"}",
                    ))
                }
            },
            (None, None, Some(p), Some(to)) => Source::Rules(vec![Rule::new(p, to, None)?]),
            _ => return Err(Error::usage(
                "give one of --mapping FILE, --pattern RE --to TEMPLATE or --patterns-file FILE",
            )),
        };
    let mut rec = AuditRecord::new("subject rename");
    rec.project = Some(project.clone());
    let given = [
        (
            "mapping",
            a.mapping.as_ref().map(|p| p.display().to_string()),
        ),
        (
            "patterns_file",
            a.patterns_file.as_ref().map(|p| p.display().to_string()),
        ),
        ("pattern", a.pattern.clone()),
        ("to", a.to.clone()),
    ];
    for (k, v) in given {
        if let Some(v) = v {
            rec.detail(k, Value::from(v));
        }
    }
    mutate(
        ctx,
        "Rename these subjects?",
        &a.confirm,
        rec,
        |mode, _| async move {
            let client = ctx.client().await?;
            let rows = subjects::all_rows(client, &project).await?;
            let labels: BTreeMap<String, String> = rows
                .iter()
                .map(|r| (cell(r, "label"), cell(r, "ID")))
                .collect();
            let mut plan = rename::plan(&labels, &source, &project);
            if mode.apply() {
                plan = rename::apply(client, &project, plan).await;
            }
            ctx.out().report(&plan)?;
            if mode.apply() {
                ctx.messages().success(&format!(
                    "Renamed: {}, Merged: {}, Skipped: {}",
                    plan.renamed.len(),
                    plan.merged.len(),
                    plan.skipped.len()
                ));
            }
            Ok(())
        },
    )
    .await
}
