//! `session normalize-labels`: plan label renames to `SUBJECT_VV_SEnn_MOD`, then apply them one
//! at a time, waiting on each rename's history event.

use clap::Args;
use serde_json::json;

use crate::cli::shared::ConfirmArgs;
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::output::OutputFormat;
use crate::core::validation::validate_regex_pattern;
use crate::core::{Error, Result};
use crate::services::sessions::{self, PollTimes, Rename};

/// `session normalize-labels`.
#[derive(Debug, Args)]
pub struct NormalizeArgs {
    /// Project (default: the profile's default_project)
    #[arg(short = 'P', long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// Only subjects whose label matches this regular expression
    #[arg(long, value_name = "RE")]
    pub subject_pattern: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `session normalize-labels`.
pub async fn run(a: NormalizeArgs, ctx: &Context) -> Result<()> {
    let pattern = a
        .subject_pattern
        .as_deref()
        .map(validate_regex_pattern)
        .transpose()?;
    let project = ctx.require_project(a.project.as_deref())?;
    let go = ctx.confirm(
        "Rename experiment labels to the standardized convention?",
        a.confirm.yes,
        a.confirm.dry_run,
    )?;
    let mut rec = AuditRecord::new("session normalize-labels");
    rec.project = Some(project.clone());
    rec.dry_run = !go;
    if let Some(p) = &a.subject_pattern {
        rec.detail("subject_pattern", json!(p));
    }
    let planned = async {
        let client = ctx.client().await?;
        let rows = sessions::plan_rows(client, &project).await?;
        Ok::<_, Error>((client, sessions::plan(&rows, pattern.as_ref())))
    }
    .await;
    let (client, plan) = match planned {
        Ok(p) => p,
        Err(e) => {
            rec.error = Some(e.to_string());
            ctx.audit(rec);
            return Err(e);
        }
    };
    let mut failed: Vec<(Rename, String)> = Vec::new();
    let mut fatal = None;
    if go {
        let poll = PollTimes::from_env();
        for r in &plan.renames {
            match sessions::apply_rename(client, r, poll).await {
                Ok(()) => {}
                Err(e @ Error::SessionExpired(_)) => {
                    fatal = Some(e);
                    break;
                }
                Err(e) => failed.push((r.clone(), e.to_string())),
            }
        }
    }
    rec.detail("renames", json!(plan.renames.len()));
    rec.success = failed.is_empty() && fatal.is_none();
    if !rec.success {
        rec.error = Some(
            fatal
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_else(|| format!("{} rename(s) failed", failed.len())),
        );
    }
    ctx.audit(rec);
    if let Some(e) = fatal {
        return Err(e);
    }
    print(ctx, &plan, !go, &failed)?;
    if go && failed.is_empty() {
        ctx.messages().success(&format!(
            "Renamed {} experiment label(s), skipped {}",
            plan.renames.len(),
            plan.skipped.len()
        ));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Batch {
            failed: failed.len(),
            total: plan.renames.len(),
        })
    }
}

fn print(
    ctx: &Context,
    plan: &sessions::Plan,
    dry_run: bool,
    failed: &[(Rename, String)],
) -> Result<()> {
    let opts = ctx.output_options().clone();
    let mut out = ctx.out();
    if opts.quiet {
        return out.ids(plan.renames.iter().map(|r| r.id.clone()));
    }
    match opts.format {
        OutputFormat::Json => out.json(&sessions::plan_json(plan, dry_run, failed)),
        OutputFormat::Tsv => {
            if !opts.no_headers {
                out.line("action\tid\tlabel\ttarget\treason")?;
            }
            for r in &plan.renames {
                let action = if failed.iter().any(|(f, _)| f == r) {
                    "failed"
                } else {
                    "rename"
                };
                out.line(&format!("{action}\t{}\t{}\t{}\t", r.id, r.from, r.to))?;
            }
            for s in &plan.skipped {
                out.line(&format!("skip\t\t{}\t\t{}", s.label, s.reason))?;
            }
            Ok(())
        }
        OutputFormat::Table => {
            let prefix = if dry_run { "[DRY-RUN] " } else { "" };
            out.line(&format!("{prefix}Renames ({}):", plan.renames.len()))?;
            for r in &plan.renames {
                out.line(&format!("  {} -> {}", r.from, r.to))?;
            }
            out.line(&format!("\nSkipped ({}):", plan.skipped.len()))?;
            for s in &plan.skipped {
                out.line(&format!("  {}: {}", s.label, s.reason))?;
            }
            if !failed.is_empty() {
                out.line(&format!("\nFailed ({}):", failed.len()))?;
                for (r, e) in failed {
                    out.line(&format!("  {} -> {}: {e}", r.from, r.to))?;
                }
            }
            Ok(())
        }
    }
}
