//! `upload-exam`: an exam folder holding DICOM plus non-DICOM material. DICOM goes through the
//! import service with `overwrite=append`, a one-file leader batch then a few parallel tar (or
//! zip) batches, as `session upload DIR` sends it (or file by file with gradual-DICOM, `--mode gradual`, the reference's
//! way: one request per file, which a real server answers in tens of milliseconds each); top-level
//! folders without any DICOM become session resources (label = the folder name) and top-level
//! non-DICOM files go, flattened, into one "misc" resource, each resource one zip extracted by the
//! server. Resources can only be attached once the session is archived, so the command waits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use serde::Serialize;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::archive::{plan_led_batches, upload_directory};
use super::gradual::upload_gradual;
use super::resource::{zip_dir, zip_files};
use super::scan::{is_dicom_file, walk};
use super::session::Sending;
use super::{check, work_dir, ArchiveFormat, ImportSettings, Overwrite};
use crate::core::client::{seg, XnatClient};
use crate::core::output::{object_of, Item, Record};
use crate::core::progress::NoProgress;
use crate::core::validation;
use crate::core::{Error, Result};
use crate::services::experiments;

/// The classified content of an exam folder.
#[derive(Debug, Clone, Default)]
pub struct ExamPlan {
    /// DICOM-like files anywhere below the root.
    pub dicom: Vec<PathBuf>,
    /// Top-level folders with no DICOM inside: `(label, path)`.
    pub resource_dirs: Vec<(String, PathBuf)>,
    /// Top-level non-DICOM files.
    pub misc_files: Vec<PathBuf>,
}

/// Knobs of one `upload-exam`.
#[derive(Debug, Clone)]
pub struct ExamOptions {
    /// Parallel uploads (import batches, gradual files, resources).
    pub workers: usize,
    /// How the DICOM is sent: tar or zip batches, or one file per request.
    pub sending: Sending,
    /// How long to wait for the session to appear in the archive (0 = do not wait).
    pub wait: Duration,
    /// Poll interval while waiting.
    pub interval: Duration,
    /// Label of the resource for top-level loose files.
    pub misc_label: String,
    /// Upload DICOM only.
    pub skip_resources: bool,
    /// Attach resources only (DICOM already uploaded).
    pub attach_only: bool,
    /// Read every attached resource's file list back and compare it with what was sent.
    pub check: bool,
}

/// What `upload-exam` did (the reference's JSON shape).
#[derive(Debug, Clone, Serialize)]
pub struct ExamReport {
    /// Project.
    pub project: String,
    /// Subject label.
    pub subject: String,
    /// Session label.
    pub session: String,
    /// The folder as given.
    pub exam_root: String,
    /// `{skipped, total, uploaded}`.
    pub dicom: serde_json::Value,
    /// Resource outcome.
    pub resources: serde_json::Value,
}

impl ExamReport {
    /// The table and TSV form: the nested `dicom`/`resources` objects lifted to top-level
    /// fields, one value per cell instead of a JSON blob (`dicom.total` becomes `dicom_total`,
    /// while a key that already reads as a name of its own, `misc_label`, keeps it).
    pub fn flat_record(&self) -> Result<Record> {
        let mut out = Map::new();
        for (key, value) in object_of(self)? {
            match value {
                Value::Object(inner) => {
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
        let mut record = Record::from_map(out);
        record.id_field = Some("session".into());
        Ok(record)
    }
}

/// What `upload-exam --dry-run` prints.
#[derive(Debug, Clone, Serialize)]
pub struct ExamPreview {
    /// The folder as given.
    pub exam_root: String,
    /// Project.
    pub project: String,
    /// Subject label.
    pub subject: String,
    /// Session label.
    pub session: String,
    /// Parallel uploads.
    pub workers: usize,
    /// Straight into the archive (else the prearchive).
    pub direct_archive: bool,
    /// DICOM files found.
    pub dicom_files: usize,
    /// Resource labels of the folders to attach.
    pub resource_dirs: Vec<String>,
    /// Loose top-level files.
    pub misc_files: usize,
    /// Their resource label.
    pub misc_label: String,
}

impl Item for ExamPreview {
    const ID: &'static str = "session";
}

impl ExamPreview {
    /// The preview of `plan` for `settings`.
    pub fn new(
        root: &Path,
        settings: &ImportSettings,
        plan: &ExamPlan,
        workers: usize,
        misc_label: &str,
    ) -> Self {
        let t = &settings.target;
        ExamPreview {
            exam_root: root.display().to_string(),
            project: t.project.clone(),
            subject: t.subject.clone(),
            session: t.session.clone(),
            workers,
            direct_archive: settings.routing == super::Routing::DirectArchive,
            dicom_files: plan.dicom.len(),
            resource_dirs: plan.resource_dirs.iter().map(|(l, _)| l.clone()).collect(),
            misc_files: plan.misc_files.len(),
            misc_label: misc_label.to_string(),
        }
    }
}

fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .map(|n| n.to_string_lossy().starts_with('.'))
        .unwrap_or(true)
}

/// Classify the exam folder (hidden names skipped at every level).
pub fn classify_exam(root: &Path) -> Result<ExamPlan> {
    let mut plan = ExamPlan::default();
    let entries =
        std::fs::read_dir(root).map_err(|e| Error::io(format!("reading {}", root.display()), e))?;
    let mut top: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    top.sort();
    for p in top {
        if is_hidden(&p) {
            continue;
        }
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            let mut dicom = Vec::new();
            walk(&p, &mut |f, _| {
                if is_dicom_file(f) {
                    dicom.push(f.to_path_buf());
                }
            })?;
            if dicom.is_empty() {
                let label = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let label = validation::validate_resource_label(&label)?;
                plan.resource_dirs.push((label, p));
            } else {
                plan.dicom.extend(dicom);
            }
        } else if meta.is_file() {
            if is_dicom_file(&p) {
                plan.dicom.push(p);
            } else {
                plan.misc_files.push(p);
            }
        }
    }
    plan.dicom.sort();
    Ok(plan)
}

/// Upload the DICOM, wait for the session, attach the resources.
pub async fn upload_exam(
    client: &XnatClient,
    settings: &ImportSettings,
    root: &Path,
    plan: ExamPlan,
    opts: &ExamOptions,
    cancel: &CancellationToken,
) -> Result<ExamReport> {
    let t = &settings.target;
    let total = plan.dicom.len();
    let (mut uploaded, mut inspected) = (0, None);
    if !opts.attach_only {
        if total == 0 {
            return Err(Error::Upload(format!(
                "no DICOM files found under {}",
                root.display()
            )));
        }
        (uploaded, inspected) =
            send_dicom(client, settings, root, &plan.dicom, opts, cancel).await?;
    }
    let dicom =
        serde_json::json!({"skipped": opts.attach_only, "total": total, "uploaded": uploaded});
    let mut report = ExamReport {
        project: t.project.clone(),
        subject: t.subject.clone(),
        session: t.session.clone(),
        exam_root: root.display().to_string(),
        dicom,
        resources: serde_json::Value::Null,
    };
    let pending = plan.resource_dirs.len() + usize::from(!plan.misc_files.is_empty());
    if opts.skip_resources || pending == 0 {
        report.resources = serde_json::json!({"skipped": opts.skip_resources, "resource_dirs": 0,
            "misc_files": 0, "misc_label": opts.misc_label});
        return Ok(report);
    }
    let deadline = Instant::now() + opts.wait;
    let experiment = loop {
        match experiments::resolve(client, Some(&t.project), &t.session).await {
            Ok(e) => break Some(e),
            Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        let now = Instant::now();
        if now >= deadline {
            break None;
        }
        let nap = opts.interval.min(deadline - now);
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = cancel.cancelled() => return Err(Error::Cancelled),
        }
    };
    let Some(experiment) = experiment else {
        report.resources = serde_json::json!({"skipped": false, "attached": false,
            "pending": pending, "resource_dirs": 0, "misc_files": 0, "misc_label": opts.misc_label,
            "reason": "session not archived before wait timeout",
            "rerun": format!("xnatctl session upload-exam '{}' -P {} -S {} -E {} --attach-only",
                root.display(), t.project, t.subject, t.session)});
        return Ok(report);
    };
    // The session is archived now: it must hold every distinct instance sent.
    if opts.check && !opts.attach_only && settings.routing == super::Routing::DirectArchive {
        let sent = match inspected {
            Some(found) => found,
            None => inspect(root, &plan.dicom).await?,
        };
        let on_server = check::dicom_files_of(client, &experiment.id).await?;
        if let Some(p) = check::instances_problem(sent.instances, on_server, false) {
            return Err(Error::Upload(p));
        }
    }
    let owner = format!(
        "/data/projects/{}/experiments/{}",
        seg(&t.project)?,
        seg(&experiment.id)?
    );
    let tmp = work_dir("xnatctl_exam_")?;
    let mut jobs: Vec<Attach> = plan
        .resource_dirs
        .iter()
        .map(|(label, dir)| Attach {
            label: label.clone(),
            zip: tmp.path().join(format!("{label}.zip")),
            base: Some(dir.clone()),
            files: Vec::new(),
        })
        .collect();
    if !plan.misc_files.is_empty() {
        jobs.push(Attach {
            label: opts.misc_label.clone(),
            zip: tmp.path().join(format!("{}.zip", opts.misc_label)),
            base: None,
            files: plan.misc_files.clone(),
        });
    }
    // Each resource is one zip extracted by the server (which creates the resource), and the
    // resources go in parallel: two or three requests each, whatever their number of files.
    let results: Vec<Result<()>> = futures::stream::iter(jobs)
        .map(|job| attach(client, &owner, job, opts.check))
        .buffered(opts.workers.max(1))
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    drop(tmp);
    report.resources = serde_json::json!({"skipped": false, "resource_dirs": plan.resource_dirs.len(),
        "misc_files": plan.misc_files.len(), "misc_label": opts.misc_label});
    Ok(report)
}

/// Send the exam's DICOM; answers the files the server accepted and, when the headers were read
/// on the way (batched sending), what they hold.
async fn send_dicom(
    client: &XnatClient,
    settings: &ImportSettings,
    root: &Path,
    dicom: &[PathBuf],
    opts: &ExamOptions,
    cancel: &CancellationToken,
) -> Result<(usize, Option<check::DicomDirCheck>)> {
    let format = match opts.sending {
        Sending::Tar => Some(ArchiveFormat::Tar),
        Sending::Zip => Some(ArchiveFormat::Zip),
        Sending::Gradual => None,
    };
    let mut inspected = None;
    if let Some(format) = format {
        let found = inspect(root, dicom).await?;
        // XNAT's archive import refuses several studies in one upload ("multiple imaging
        // sessions"); such a folder goes file by file through gradual-DICOM, as it always did.
        if found.studies.len() <= 1 {
            let append = ImportSettings {
                overwrite: Overwrite::Append,
                ..settings.clone()
            };
            // A one-file leader creates the session before the parallel batches add to it,
            // so a real server never sees several imports racing to create the same session.
            let plan = plan_led_batches(dicom, opts.workers, true);
            let outcomes = upload_directory(
                client,
                &append,
                root,
                plan,
                format,
                opts.workers,
                Arc::new(NoProgress),
                cancel,
            )
            .await?;
            if cancel.is_cancelled() || outcomes.iter().any(|o| o.cancelled) {
                return Err(Error::Cancelled);
            }
            let failed: Vec<String> = outcomes
                .iter()
                .filter_map(|o| {
                    let e = o.error.as_deref()?;
                    Some(format!("batch {} ({} files): {e}", o.number, o.files))
                })
                .collect();
            if !failed.is_empty() {
                let sent: usize = outcomes
                    .iter()
                    .filter(|o| o.error.is_none())
                    .map(|o| o.files)
                    .sum();
                return Err(Error::Upload(format!(
                    "DICOM upload failed ({sent}/{} files succeeded): {}",
                    dicom.len(),
                    failed.into_iter().take(3).collect::<Vec<_>>().join("; ")
                )));
            }
            return Ok((dicom.len(), Some(found)));
        }
        inspected = Some(found);
    }
    let r = upload_gradual(client, settings, root, dicom.to_vec(), opts.workers, cancel).await;
    if r.cancelled {
        return Err(Error::Cancelled);
    }
    if let Some(msg) = r.aborted {
        return Err(Error::Upload(msg));
    }
    if !r.failed.is_empty() {
        let first: Vec<String> = r
            .failed
            .iter()
            .take(3)
            .map(|(p, e)| format!("{p}: {e}"))
            .collect();
        return Err(Error::Upload(format!(
            "DICOM upload failed ({}/{} succeeded): {}",
            r.succeeded,
            dicom.len(),
            first.join("; ")
        )));
    }
    Ok((r.succeeded, inspected))
}

/// The studies and distinct instances of `files` (headers only, in parallel).
async fn inspect(root: &Path, files: &[PathBuf]) -> Result<check::DicomDirCheck> {
    let (base, files) = (root.to_path_buf(), files.to_vec());
    tokio::task::spawn_blocking(move || check::inspect_dicom_dir(&base, &files))
        .await
        .map_err(|e| Error::Upload(format!("reading DICOM headers failed: {e}")))
}

/// One resource to attach: a folder (`base`, its files zipped with their relative paths) or the
/// loose files (`files`, zipped by base name).
struct Attach {
    label: String,
    zip: PathBuf,
    base: Option<PathBuf>,
    files: Vec<PathBuf>,
}

/// Compare an attached resource with the files zipped into it (named relative to `base`, or by
/// base name for the flattened loose files).
async fn check_attached(
    client: &XnatClient,
    owner: &str,
    label: &str,
    base: Option<PathBuf>,
    files: Vec<PathBuf>,
) -> Result<()> {
    let sent = tokio::task::spawn_blocking(move || check::describe_local(base.as_deref(), &files))
        .await
        .map_err(|source| Error::UploadTask {
            what: "hashing",
            source,
        })??;
    let resource = format!("{owner}/resources/{}", seg(label)?);
    let on_server = check::server_files(client, &resource).await?;
    let problems = check::compare(&sent, &on_server, &[], false);
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Upload(format!(
        "resource {label}: {}",
        check::summarize(&problems, sent.len())
    )))
}

/// Zip one resource, send it to be extracted into `{owner}/resources/{label}` (XNAT creates
/// the resource with the upload) and, when `check`, compare the server's file list with it.
async fn attach(client: &XnatClient, owner: &str, job: Attach, check: bool) -> Result<()> {
    let Attach {
        label,
        zip,
        base,
        files,
    } = job;
    let (dest, dir) = (zip.clone(), base.clone());
    let files = tokio::task::spawn_blocking(move || match dir {
        Some(dir) => zip_dir(&dir, &dest),
        None => zip_files(Path::new(""), &files, &dest, true).map(|()| files),
    })
    .await
    .map_err(|source| Error::UploadTask {
        what: "zip",
        source,
    })??;
    let resource = format!("{owner}/resources/{}", seg(&label)?);
    let name = zip
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    client
        .request(
            reqwest::Method::PUT,
            &format!("{resource}/files/{}", seg(&name)?),
        )
        .query("inbody", "true")
        .query("extract", "true")
        .file(&zip, "application/zip")
        .send()
        .await?;
    let _ = std::fs::remove_file(&zip);
    if check {
        check_attached(client, owner, &label, base, files).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_flat_record_lifts_nested_fields_for_table_and_tsv() {
        let report = ExamReport {
            project: "P".into(),
            subject: "S".into(),
            session: "S1".into(),
            exam_root: "r".into(),
            dicom: json!({"skipped": false, "total": 2, "uploaded": 2}),
            resources: json!({"skipped": true, "misc_label": "MISC"}),
        };
        let flat = Value::Object(report.flat_record().unwrap().fields);
        assert_eq!(
            flat,
            json!({
                "project": "P",
                "subject": "S",
                "session": "S1",
                "exam_root": "r",
                "dicom_skipped": false,
                "dicom_total": 2,
                "dicom_uploaded": 2,
                "resources_skipped": true,
                "misc_label": "MISC"
            })
        );
    }
}
