//! `session upload-exam EXAM_ROOT`: DICOM plus the non-DICOM folders and files next to it.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde_json::json;

use super::upload::resolve_common;
use crate::cli::shared::refuse_password;
use crate::cli::Context;
use crate::core::output::Record;
use crate::core::{validation, Error, Result};
use crate::services::upload::{self, ExamOptions, ImportSettings, Overwrite};

/// Arguments of `session upload-exam`.
#[derive(Debug, Args)]
pub struct UploadExamArgs {
    /// Exam folder: DICOM anywhere below, plus folders/files to attach as resources
    #[arg(value_name = "EXAM_ROOT")]
    pub root: PathBuf,
    /// Project (default: the profile's default_project)
    #[arg(short = 'P', long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// Subject label
    #[arg(short = 'S', long, value_name = "SUBJECT")]
    pub subject: String,
    /// Session label
    #[arg(
        short = 'E',
        long = "session",
        visible_alias = "experiment",
        value_name = "LABEL"
    )]
    pub session: String,
    /// Parallel uploads [default: profile workers, else 4]
    #[arg(short = 'w', long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: Option<u16>,
    /// Archive directly [default unless the profile says otherwise]
    #[arg(long, conflicts_with = "prearchive")]
    pub direct_archive: bool,
    /// Send DICOM to the prearchive instead
    #[arg(long)]
    pub prearchive: bool,
    /// Seconds to wait for the session to be archived before attaching resources (0: no wait)
    #[arg(long, value_name = "SECONDS", default_value_t = 14400)]
    pub wait: u64,
    /// Seconds between checks while waiting
    #[arg(long, hide = true, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub wait_interval: u64,
    /// Resource label for loose top-level files
    #[arg(long, hide = true, default_value = "MISC")]
    pub misc_label: String,
    /// Upload DICOM only
    #[arg(long, hide = true)]
    pub skip_resources: bool,
    /// Attach resources only (DICOM already uploaded)
    #[arg(long, hide = true)]
    pub attach_only: bool,
    /// Show the plan and send nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not read the attached resources back to compare them with what was sent
    #[arg(long)]
    pub no_check: bool,
    /// Refused: passwords on the command line leak into the process list
    #[arg(long, hide = true, value_name = "PASSWORD")]
    pub password: Option<String>,
}

/// Run `session upload-exam`.
pub async fn run(a: UploadExamArgs, ctx: &Context) -> Result<()> {
    refuse_password(&a.password)?;
    if !a.root.is_dir() {
        return Err(Error::usage(format!(
            "EXAM_ROOT {} is not a directory",
            a.root.display()
        )));
    }
    let (target, routing, workers) = resolve_common(
        ctx,
        a.project.as_deref(),
        &a.subject,
        &a.session,
        a.workers,
        a.direct_archive,
        a.prearchive,
    )?;
    let misc_label = validation::validate_resource_label(&a.misc_label)?;
    let plan = upload::classify_exam(&a.root)?;
    if a.dry_run {
        ctx.messages()
            .dry_run("would upload the exam as follows; nothing was sent");
        let labels: Vec<&str> = plan.resource_dirs.iter().map(|(l, _)| l.as_str()).collect();
        let mut r = Record::new();
        r.insert("exam_root", json!(a.root.display().to_string()));
        r.insert("project", json!(target.project));
        r.insert("subject", json!(target.subject));
        r.insert("session", json!(target.session));
        r.insert("workers", json!(workers));
        r.insert(
            "direct_archive",
            json!(routing == upload::Routing::DirectArchive),
        );
        r.insert("dicom_files", json!(plan.dicom.len()));
        r.insert("resource_dirs", json!(labels));
        r.insert("misc_files", json!(plan.misc_files.len()));
        r.insert("misc_label", json!(misc_label));
        r.id_field = Some("session".into());
        return ctx.out().record(&r);
    }
    ctx.set_cancel_aware();
    let client = ctx.client().await?;
    if routing == upload::Routing::DirectArchive && !a.attach_only {
        upload::check_direct_archive(client).await?;
    }
    let settings = ImportSettings {
        target,
        overwrite: Overwrite::Append,
        routing,
        ignore_unparsable: true,
    };
    let opts = ExamOptions {
        workers,
        wait: Duration::from_secs(a.wait),
        interval: Duration::from_secs(a.wait_interval),
        misc_label,
        skip_resources: a.skip_resources,
        attach_only: a.attach_only,
        check: !a.no_check,
    };
    let report =
        upload::upload_exam(client, &settings, &a.root, plan, &opts, ctx.cancel_token()).await?;
    let value = serde_json::to_value(&report)
        .map_err(|e| Error::Operation(format!("serialising output: {e}")))?;
    if let Some(rerun) = report.resources.get("rerun").and_then(|v| v.as_str()) {
        ctx.messages().warn(&format!(
            "session '{}' is not archived yet; {} resource item(s) not attached. Re-run once archived:\n  {rerun}",
            report.session,
            report.resources.get("pending").and_then(|v| v.as_u64()).unwrap_or(0)
        ));
    } else {
        ctx.messages().success(&format!(
            "Upload-exam complete: DICOM uploaded {}/{}",
            report.dicom["uploaded"], report.dicom["total"]
        ));
    }
    let serde_json::Value::Object(map) = value else {
        return Ok(());
    };
    let map = if ctx.is_json() { map } else { flatten(map) };
    let mut record = Record::from_map(map);
    record.id_field = Some("session".into());
    ctx.out().record(&record)
}

/// The report's nested `dicom`/`resources` objects as top-level fields, so table and tsv show
/// one value per cell instead of a JSON blob: `dicom.total` becomes `dicom_total`, while a key
/// that already reads as a name of its own (`misc_label`) keeps it.
fn flatten(
    map: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    for (key, value) in map {
        match value {
            serde_json::Value::Object(inner) => {
                for (sub, v) in inner {
                    let name = if sub.contains('_') {
                        sub
                    } else {
                        format!("{key}_{sub}")
                    };
                    out.insert(name, v);
                }
            }
            other => {
                out.insert(key, other);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_lifts_nested_fields_for_table_and_tsv() {
        let serde_json::Value::Object(map) = json!({
            "session": "S1",
            "dicom": {"skipped": false, "total": 2, "uploaded": 2},
            "resources": {"skipped": true, "misc_label": "MISC"}
        }) else {
            unreachable!()
        };
        let flat = serde_json::Value::Object(flatten(map));
        assert_eq!(
            flat,
            json!({
                "session": "S1",
                "dicom_skipped": false,
                "dicom_total": 2,
                "dicom_uploaded": 2,
                "resources_skipped": true,
                "misc_label": "MISC"
            })
        );
    }
}
