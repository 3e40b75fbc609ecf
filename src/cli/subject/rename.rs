//! `subject rename`: relabel subjects from a mapping file, a pattern, or a patterns file. When
//! the target label already exists the subject's sessions are merged into it. Unlike the
//! reference, the command asks for confirmation and is audited.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use clap::Args;
use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use super::super::common::ConfirmArgs;
use super::super::config::out_err;
use super::super::project::audited;
use super::ProjectArg;
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::validation::{validate_regex_pattern, validate_xnat_label};
use crate::core::{Error, Result};
use crate::services::projects::cell;
use crate::services::subjects;

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

struct Rule {
    re: Regex,
    to: String,
    description: Option<String>,
}

/// What will happen to each label.
#[derive(Debug, Default, Serialize)]
struct Plan {
    renamed: Vec<Change>,
    merged: Vec<Change>,
    skipped: Vec<Skip>,
}

#[derive(Debug, Clone, Serialize)]
struct Change {
    from: String,
    to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct Skip {
    label: String,
    reason: String,
}

fn read_json(path: &PathBuf) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("{}: invalid JSON ({e})", path.display())))
}

fn expand(template: &str, project: &str, caps: &regex::Captures) -> String {
    let mut out = template.replace("{project}", project);
    for i in (1..caps.len()).rev() {
        let v = caps.get(i).map(|m| m.as_str()).unwrap_or("");
        out = out.replace(&format!("{{{i}}}"), v);
    }
    out
}

/// Run `subject rename`.
pub async fn run(a: RenameArgs, ctx: &Context) -> Result<()> {
    let patterns = a.patterns_file.as_ref().map(read_json).transpose()?;
    let project = match ctx.project_or_default(a.project.project.as_deref()) {
        Some(p) => p,
        None => {
            let named: BTreeSet<String> = patterns
                .as_ref()
                .and_then(|v| v.get("patterns"))
                .and_then(Value::as_array)
                .map(|rules| {
                    rules
                        .iter()
                        .filter_map(|r| r.get("project").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            match named.len() {
                1 => named.into_iter().next().unwrap_or_default(),
                0 => return Err(ctx.require_project(None).unwrap_err()),
                _ => {
                    return Err(Error::usage(format!(
                        "the patterns file names several projects ({}); pass -P",
                        named.into_iter().collect::<Vec<_>>().join(", ")
                    )))
                }
            }
        }
    };
    crate::core::validation::validate_project_id(&project)?;
    let mapping = a.mapping.as_ref().map(read_json).transpose()?;
    let mut rules = Vec::new();
    if let Some(p) = &patterns {
        for r in p
            .get("patterns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
            if let (Some(pr), Some(m), Some(to)) = (field("project"), field("match"), field("to")) {
                if pr == project {
                    rules.push(Rule {
                        re: anchored(&m)?,
                        to,
                        description: field("description"),
                    });
                }
            }
        }
        if rules.is_empty() {
            return Err(Error::InvalidInput(format!(
                "the patterns file has no complete rule for project {project}"
            )));
        }
    } else if let (Some(p), Some(to)) = (&a.pattern, &a.to) {
        rules.push(Rule {
            re: anchored(p)?,
            to: to.clone(),
            description: None,
        });
    } else if mapping.is_none() {
        return Err(Error::usage(
            "give one of --mapping FILE, --pattern RE --to TEMPLATE or --patterns-file FILE",
        ));
    }
    let mapping = match mapping {
        Some(Value::Object(m)) => Some(m),
        Some(_) => {
            return Err(Error::usage(
                "--mapping must be a JSON object {\"old\": \"new\"}",
            ))
        }
        None => None,
    };

    let go = ctx.confirm("Rename these subjects?", a.confirm.yes, a.confirm.dry_run)?;
    let mut rec = AuditRecord::new("subject rename");
    rec.project = Some(project.clone());
    rec.dry_run = !go;
    for (k, v) in [
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
    ] {
        if let Some(v) = v {
            rec.detail(k, Value::from(v));
        }
    }
    let result = async {
        let client = ctx.client().await?;
        let rows = subjects::all_rows(client, &project).await?;
        let labels: BTreeMap<String, String> = rows
            .iter()
            .map(|r| (cell(r, "label"), cell(r, "ID")))
            .collect();
        let mut plan = Plan::default();
        let add = |plan: &mut Plan, from: String, to: String, rule: Option<String>| {
            if labels.contains_key(&to) {
                plan.merged.push(Change { from, to, rule });
            } else {
                plan.renamed.push(Change { from, to, rule });
            }
        };
        if let Some(m) = &mapping {
            for (old, new) in m {
                let skip = |reason: &str| Skip {
                    label: old.clone(),
                    reason: reason.to_string(),
                };
                let Some(new) = new.as_str() else {
                    plan.skipped.push(skip("target is not a string"));
                    continue;
                };
                if !labels.contains_key(old) {
                    plan.skipped.push(skip("not found"));
                } else if new == old {
                    plan.skipped.push(skip("same label"));
                } else if let Err(e) = validate_xnat_label(new, "label") {
                    plan.skipped
                        .push(skip(&format!("invalid target label: {e}")));
                } else {
                    add(&mut plan, old.clone(), new.to_string(), None);
                }
            }
        } else {
            for label in labels.keys() {
                let Some((rule, caps)) = rules
                    .iter()
                    .find_map(|r| r.re.captures(label).map(|c| (r, c)))
                else {
                    continue;
                };
                let target = expand(&rule.to, &project, &caps);
                if &target == label {
                    plan.skipped.push(Skip {
                        label: label.clone(),
                        reason: "already matches".into(),
                    });
                } else if let Err(e) = validate_xnat_label(&target, "label") {
                    plan.skipped.push(Skip {
                        label: label.clone(),
                        reason: format!("invalid target label: {e}"),
                    });
                } else {
                    add(&mut plan, label.clone(), target, rule.description.clone());
                }
            }
        }
        if go {
            let mut done = Plan {
                skipped: plan.skipped.clone(),
                ..Plan::default()
            };
            for c in plan.renamed {
                match subjects::rename(client, &project, &c.from, &c.to).await {
                    Ok(()) => done.renamed.push(c),
                    Err(e) => done.skipped.push(Skip {
                        label: c.from,
                        reason: format!("failed: {e}"),
                    }),
                }
            }
            for c in plan.merged {
                match subjects::merge(client, &project, &c.from, &c.to).await {
                    Ok(_) => done.merged.push(c),
                    Err(e) => done.skipped.push(Skip {
                        label: c.from,
                        reason: format!("merge failed: {e}"),
                    }),
                }
            }
            plan = done;
        }
        report(ctx, &plan, !go)?;
        if go {
            ctx.messages().success(&format!(
                "Renamed: {}, Merged: {}, Skipped: {}",
                plan.renamed.len(),
                plan.merged.len(),
                plan.skipped.len()
            ));
        }
        Ok(())
    }
    .await;
    audited(ctx, rec, result)
}

fn anchored(pattern: &str) -> Result<Regex> {
    validate_regex_pattern(pattern)?;
    Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|e| Error::usage(format!("invalid pattern '{pattern}': {e}")))
}

fn report(ctx: &Context, plan: &Plan, dry_run: bool) -> Result<()> {
    let opts = ctx.output_options();
    if opts.quiet {
        let ids = plan
            .renamed
            .iter()
            .chain(&plan.merged)
            .map(|c| c.to.as_str());
        return ctx.out().ids(ids).map_err(out_err);
    }
    if ctx.is_json() {
        let v = serde_json::to_value(plan).map_err(|e| Error::Operation(e.to_string()))?;
        return ctx.out().json(&v).map_err(out_err);
    }
    if opts.format == crate::core::output::OutputFormat::Tsv {
        return ctx.out().list(&tsv_listing(plan, dry_run)).map_err(out_err);
    }
    let mut text = String::new();
    let prefix = if dry_run { "[DRY-RUN] " } else { "" };
    for (title, changes) in [("Renamed", &plan.renamed), ("Merged", &plan.merged)] {
        if changes.is_empty() {
            continue;
        }
        text.push_str(&format!("{prefix}{title} ({}):\n", changes.len()));
        for c in changes {
            let rule = c
                .rule
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            text.push_str(&format!("  {} -> {}{rule}\n", c.from, c.to));
        }
    }
    if !plan.skipped.is_empty() {
        text.push_str(&format!("Skipped ({}):\n", plan.skipped.len()));
        for s in &plan.skipped {
            text.push_str(&format!("  {}: {}\n", s.label, s.reason));
        }
    }
    ctx.out().raw(&text).map_err(out_err)
}

/// One row per planned or applied change and per skip, so `-o tsv` stays machine-readable.
fn tsv_listing(plan: &Plan, dry_run: bool) -> crate::core::output::Listing {
    use crate::core::output::{Column, Listing};
    let row = |action: &str, from: &str, to: &str, detail: &str| {
        let mut m = serde_json::Map::new();
        for (k, v) in [
            ("action", action),
            ("from", from),
            ("to", to),
            ("detail", detail),
        ] {
            m.insert(k.to_string(), Value::String(v.to_string()));
        }
        m
    };
    let mut rows = Vec::new();
    let (renamed, merged) = if dry_run {
        ("would rename", "would merge")
    } else {
        ("renamed", "merged")
    };
    for (action, changes) in [(renamed, &plan.renamed), (merged, &plan.merged)] {
        for c in changes {
            rows.push(row(action, &c.from, &c.to, c.rule.as_deref().unwrap_or("")));
        }
    }
    for s in &plan.skipped {
        rows.push(row("skipped", &s.label, "", &s.reason));
    }
    Listing {
        columns: ["action", "from", "to", "detail"]
            .into_iter()
            .map(|k| Column::new(k, k))
            .collect(),
        rows,
        id_field: "to".into(),
        title: None,
    }
}
