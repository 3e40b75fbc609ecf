//! `session upload INPUT`: an archive file, a directory of DICOM (parallel tar/zip batches), or
//! file by file (`--mode gradual`) through XNAT's import service.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use crate::cli::config::out_err;
use crate::cli::Context;
use crate::core::output::Record;
use crate::core::progress::Progress;
use crate::core::{Error, Result};
use crate::services::upload::{
    self, ArchiveFormat, ImportSettings, Overwrite, Routing, SummaryItem, Target, TransferSummary,
};

/// `--mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Batches as uncompressed tar archives
    Tar,
    /// Batches as zip archives
    Zip,
    /// One request per DICOM file (gradual-DICOM)
    Gradual,
}

/// `--overwrite` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OverwriteArg {
    /// Refuse when the session exists
    None,
    /// Add to the existing session (same SOP Instance UID replaces)
    Append,
    /// Replace the existing session
    Delete,
}

/// Arguments of `session upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// An archive (.zip, .tar, .tar.gz) or a directory of DICOM files
    #[arg(value_name = "INPUT_PATH")]
    pub input: PathBuf,
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
    /// How a directory is sent [default: profile archive_mode, else tar]
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Parallel uploads [default: profile workers, else 4]
    #[arg(short = 'w', long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: Option<u16>,
    /// What to do when the session exists [default: profile overwrite, else delete]
    #[arg(long, value_enum)]
    pub overwrite: Option<OverwriteArg>,
    /// Archive directly (needs XNAT 1.8.3+) [default unless the profile says otherwise]
    #[arg(long, conflicts_with = "prearchive")]
    pub direct_archive: bool,
    /// Send to the project's prearchive instead of archiving
    #[arg(long)]
    pub prearchive: bool,
    /// Show the plan and send nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Fail on non-DICOM archive members instead of skipping them
    #[arg(long, hide = true)]
    pub no_ignore_unparsable: bool,
    /// Refused: passwords on the command line leak into the process list
    #[arg(long, hide = true, value_name = "PASSWORD")]
    pub password: Option<String>,
}

/// Project, routing and workers from flags, then the profile, then defaults.
pub(super) fn resolve_common(
    ctx: &Context,
    project: Option<&str>,
    subject: &str,
    session: &str,
    workers: Option<u16>,
    direct: bool,
    prearchive: bool,
) -> Result<(Target, Routing, usize)> {
    let project = ctx.require_project(project)?;
    let target = Target::new(&project, subject, session)?;
    let profile = ctx.profile().ok();
    let workers = workers
        .map(usize::from)
        .or(profile.and_then(|p| p.workers))
        .unwrap_or(4)
        .max(1);
    let direct = if prearchive {
        false
    } else if direct {
        true
    } else {
        profile.and_then(|p| p.direct_archive).unwrap_or(true)
    };
    let routing = if direct {
        Routing::DirectArchive
    } else {
        Routing::Prearchive
    };
    Ok((target, routing, workers))
}

fn parse_profile_mode(text: Option<&str>) -> Result<Mode> {
    match text.map(str::to_ascii_lowercase).as_deref() {
        None | Some("tar") => Ok(Mode::Tar),
        Some("zip") => Ok(Mode::Zip),
        Some("gradual") => Ok(Mode::Gradual),
        Some(other) => Err(Error::Config(format!(
            "profile archive_mode '{other}' is not tar, zip or gradual"
        ))),
    }
}

fn parse_profile_overwrite(text: Option<&str>) -> Result<Overwrite> {
    match text.map(str::to_ascii_lowercase).as_deref() {
        None | Some("delete") => Ok(Overwrite::Delete),
        Some("append") => Ok(Overwrite::Append),
        Some("none") => Ok(Overwrite::None),
        Some(other) => Err(Error::Config(format!(
            "profile overwrite '{other}' is not none, append or delete"
        ))),
    }
}

/// Print a TransferSummary: the whole object as JSON, its scalar fields otherwise.
pub(super) fn print_summary(ctx: &Context, summary: &TransferSummary) -> Result<()> {
    let value = serde_json::to_value(summary)
        .map_err(|e| Error::Operation(format!("serialising output: {e}")))?;
    let Value::Object(mut map) = value else {
        return Ok(());
    };
    if !ctx.is_json() {
        let hidden = [
            "items",
            "verification",
            "output_dir",
            "scans",
            "skipped_unsafe_entries",
        ];
        map = map
            .into_iter()
            .filter(|(k, _)| !hidden.contains(&k.as_str()))
            .collect();
    }
    let mut record = Record::from_map(map);
    record.id_field = Some("session_id".into());
    ctx.out().record(&record).map_err(out_err)
}

/// Run `session upload`.
pub async fn run(a: UploadArgs, ctx: &Context) -> Result<()> {
    super::super::common::refuse_password(&a.password)?;
    if !a.input.exists() {
        return Err(Error::usage(format!(
            "INPUT_PATH {} does not exist",
            a.input.display()
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
    let profile = ctx.profile().ok();
    let mode = match a.mode {
        Some(m) => m,
        None => parse_profile_mode(profile.and_then(|p| p.archive_mode.as_deref()))?,
    };
    let overwrite = match a.overwrite {
        Some(OverwriteArg::None) => Overwrite::None,
        Some(OverwriteArg::Append) => Overwrite::Append,
        Some(OverwriteArg::Delete) => Overwrite::Delete,
        None => parse_profile_overwrite(profile.and_then(|p| p.overwrite.as_deref()))?,
    };
    let settings = ImportSettings {
        target,
        overwrite,
        routing,
        ignore_unparsable: !a.no_ignore_unparsable,
    };
    let source = a.input.display().to_string();
    let is_dir = a.input.is_dir();

    // Local checks first: an empty directory never reaches the network.
    let files = if is_dir {
        let set = upload::find_dicom_files(&a.input)?;
        if set.files.is_empty() {
            return Err(Error::Upload(format!(
                "no DICOM files found in {} (looked for .dcm/.ima/.img/.dicom files and files with a DICM header)",
                a.input.display()
            )));
        }
        Some(set)
    } else if mode == Mode::Gradual {
        return Err(Error::Upload(
            "gradual-DICOM needs a directory of DICOM files".into(),
        ));
    } else {
        None
    };
    let plan = match (&files, mode) {
        (Some(set), Mode::Tar | Mode::Zip) => upload::plan_batches(&set.files, workers, overwrite),
        _ => upload::BatchPlan::default(),
    };

    if a.dry_run {
        return dry_run(
            ctx,
            &a.input,
            &settings,
            mode,
            workers,
            files.as_ref(),
            &plan,
        );
    }

    ctx.set_cancel_aware();
    let client = ctx.client().await?;
    if routing == Routing::DirectArchive {
        upload::check_direct_archive(client).await?;
    }
    let cancel = ctx.cancel_token().clone();
    let started = Instant::now();
    let t = &settings.target;

    match (files, mode) {
        (None, _) => {
            let name = a
                .input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| source.clone());
            let size = std::fs::metadata(&a.input).map(|m| m.len()).unwrap_or(0);
            let r = upload::upload_archive_file(client, &settings, &a.input, &cancel).await;
            let (item, files, bytes) = match &r {
                Ok(_) => (item(&name, None), Some(1), Some(size)),
                Err(e) => (item(&name, Some(e)), None, None),
            };
            let summary = TransferSummary::new(
                &source,
                Some(t),
                vec![item],
                files,
                bytes,
                started.elapsed(),
            );
            print_summary(ctx, &summary)?;
            r?;
            ctx.messages().success(&format!("Uploaded {name}"));
            Ok(())
        }
        (Some(set), Mode::Gradual) => {
            let r =
                upload::upload_gradual(client, &settings, &a.input, set.files, workers, &cancel)
                    .await;
            let error = r
                .aborted
                .clone()
                .or_else(|| r.failed.first().map(|(p, e)| format!("{p}: {e}")));
            let status = if r.cancelled {
                "cancelled"
            } else if error.is_some() {
                "failed"
            } else {
                "success"
            };
            let it = SummaryItem {
                id: "gradual-dicom".into(),
                status: status.into(),
                error,
            };
            let summary = TransferSummary::new(
                &source,
                Some(t),
                vec![it],
                Some(r.succeeded),
                Some(r.bytes),
                started.elapsed(),
            );
            print_summary(ctx, &summary)?;
            for (p, e) in r.failed.iter().take(5) {
                ctx.messages().warn(&format!("{p}: {e}"));
            }
            if r.cancelled {
                return Err(Error::Cancelled);
            }
            if let Some(msg) = r.aborted {
                return Err(Error::Upload(msg));
            }
            if !r.failed.is_empty() {
                return Err(Error::Batch {
                    failed: r.failed.len(),
                    total: r.total,
                });
            }
            ctx.messages()
                .success(&format!("Uploaded {} files via gradual-DICOM", r.succeeded));
            Ok(())
        }
        (Some(set), _) => {
            let format = if mode == Mode::Zip {
                ArchiveFormat::Zip
            } else {
                ArchiveFormat::Tar
            };
            let progress: Arc<dyn Progress> =
                Arc::from(crate::cli::progress::for_transfer(ctx, set.bytes));
            let outcomes = upload::upload_directory(
                client, &settings, &a.input, plan, format, workers, progress, &cancel,
            )
            .await?;
            let mut files = 0;
            let mut bytes = 0;
            let mut items = Vec::new();
            for o in &outcomes {
                if o.error.is_none() {
                    files += o.files;
                    bytes += o.bytes;
                }
                items.push(SummaryItem {
                    id: format!("batch-{}", o.number),
                    status: if o.cancelled {
                        "cancelled"
                    } else if o.error.is_some() {
                        "failed"
                    } else {
                        "success"
                    }
                    .into(),
                    error: o.error.clone(),
                });
            }
            let summary = TransferSummary::new(
                &source,
                Some(t),
                items,
                Some(files),
                Some(bytes),
                started.elapsed(),
            );
            print_summary(ctx, &summary)?;
            let failed: Vec<_> = outcomes.iter().filter(|o| o.error.is_some()).collect();
            for o in failed.iter().filter(|o| !o.cancelled).take(5) {
                ctx.messages().warn(&format!(
                    "batch {} ({} files): {}",
                    o.number,
                    o.files,
                    o.error.as_deref().unwrap_or("")
                ));
            }
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            if !failed.is_empty() {
                return Err(Error::Batch {
                    failed: failed.len(),
                    total: outcomes.len(),
                });
            }
            ctx.messages().success(&format!(
                "Uploaded {files} files ({:.1} MB) in {:.1}s",
                bytes as f64 / 1_000_000.0,
                started.elapsed().as_secs_f64()
            ));
            Ok(())
        }
    }
}

fn item(name: &str, err: Option<&Error>) -> SummaryItem {
    SummaryItem {
        id: name.to_string(),
        status: match err {
            None => "success",
            Some(Error::Cancelled) => "cancelled",
            Some(_) => "failed",
        }
        .into(),
        error: err.map(|e| e.to_string()),
    }
}

fn dry_run(
    ctx: &Context,
    input: &Path,
    settings: &ImportSettings,
    mode: Mode,
    workers: usize,
    files: Option<&upload::FileSet>,
    plan: &upload::BatchPlan,
) -> Result<()> {
    ctx.messages()
        .dry_run("would upload with these settings; nothing was sent");
    let t = &settings.target;
    let mode_name = match mode {
        Mode::Tar => "tar",
        Mode::Zip => "zip",
        Mode::Gradual => "gradual",
    };
    let mut out = serde_json::Map::new();
    out.insert("operation".into(), json!("upload"));
    out.insert("dry_run".into(), json!(true));
    out.insert("source".into(), json!(input.display().to_string()));
    out.insert("project".into(), json!(t.project));
    out.insert("subject".into(), json!(t.subject));
    out.insert("session_id".into(), json!(t.session));
    out.insert("mode".into(), json!(mode_name));
    out.insert("workers".into(), json!(workers));
    if mode != Mode::Gradual {
        out.insert("overwrite".into(), json!(settings.overwrite.as_str()));
    }
    out.insert(
        "direct_archive".into(),
        json!(settings.routing == Routing::DirectArchive),
    );
    if let Some(set) = files {
        out.insert("files".into(), json!(set.files.len()));
        out.insert("bytes".into(), json!(set.bytes));
    }
    if !plan.batches.is_empty() {
        out.insert("batches".into(), json!(plan.batches.len()));
        let sizes: Vec<usize> = plan.batches.iter().map(Vec::len).collect();
        out.insert("files_per_batch".into(), json!(sizes));
        out.insert("leader_batch".into(), json!(plan.leader));
    }
    let mut record = Record::from_map(out);
    record.id_field = Some("session_id".into());
    ctx.out().record(&record).map_err(out_err)
}
