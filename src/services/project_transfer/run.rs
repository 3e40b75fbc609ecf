//! The copy itself: discover the source project, decide per experiment whether it must be
//! copied (its fingerprint changed, it failed before, or the destination lost it), copy it,
//! verify it, and journal the outcome before going on.
//!
//! A scan's DICOM goes from the source's `…/resources/DICOM/files?format=zip` straight into the
//! destination's import request through a bounded channel ([`relay`]): nothing is written to
//! disk and memory holds at most [`RELAY_CHUNKS`] chunks per scan in flight. Other files are
//! relayed the same way, one request each, to their place on the destination.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use reqwest::Method;
use serde_json::Value;

use super::config::TransferConfig;
use super::journal::{self, EntryStatus, History, Journal, Pair, Record};
use super::plan::{self, ExperimentPlan, SourceScan};
use super::{Endpoint, RunOptions, TransferReport};
use crate::core::auth::normalize_url;
use crate::core::client::{seg, XnatClient};
use crate::core::{Error, Result};
use crate::services::download::{
    build_plan, PlanRequest, PlannedFile, ResourceFilter, ScanSelection, SessionRef,
};
use crate::services::experiments;
use crate::services::upload::{self, ImportBody, ImportSettings, Overwrite, Routing, Target};

/// Chunks buffered between the source's response and the destination's request, per stream.
pub const RELAY_CHUNKS: usize = 8;

/// A source subject.
#[derive(Debug, Clone)]
struct SourceSubject {
    id: String,
    label: String,
}

/// A source experiment.
#[derive(Debug, Clone)]
struct SourceExperiment {
    id: String,
    label: String,
    subject_id: String,
    xsi_type: String,
}

fn cell(row: &serde_json::Map<String, Value>, key: &str) -> String {
    experiments::text(row, key)
}

async fn discover(src: &Endpoint) -> Result<(Vec<SourceSubject>, Vec<SourceExperiment>)> {
    let p = seg(&src.project)?;
    let (sp, ep) = (
        format!("/data/projects/{p}/subjects"),
        format!("/data/projects/{p}/experiments"),
    );
    let (subjects, exps) = tokio::join!(
        src.client
            .list_rows(&sp, &[("columns", "ID,label,project")]),
        src.client
            .list_rows(&ep, &[("columns", "ID,label,xsiType,subject_ID,project")])
    );
    // Shared subjects and experiments belong to their own project: only ours are copied.
    let mut subjects: Vec<SourceSubject> = subjects?
        .iter()
        .filter(|r| cell(r, "project") == src.project || cell(r, "project").is_empty())
        .map(|r| SourceSubject {
            id: cell(r, "ID"),
            label: cell(r, "label"),
        })
        .collect();
    subjects.sort_by(|a, b| a.label.cmp(&b.label));
    let mut exps: Vec<SourceExperiment> = exps?
        .iter()
        .filter(|r| cell(r, "project") == src.project || cell(r, "project").is_empty())
        .map(|r| SourceExperiment {
            id: cell(r, "ID"),
            label: cell(r, "label"),
            subject_id: cell(r, "subject_ID"),
            xsi_type: cell(r, "xsiType"),
        })
        .collect();
    exps.sort_by(|a, b| a.label.cmp(&b.label));
    Ok((subjects, exps))
}

/// The destination's subjects (labels) and experiments (label → id).
async fn dest_state(dst: &Endpoint) -> Result<(HashSet<String>, HashMap<String, String>)> {
    let p = seg(&dst.project)?;
    let (sp, ep) = (
        format!("/data/projects/{p}/subjects"),
        format!("/data/projects/{p}/experiments"),
    );
    let (subjects, exps) = tokio::join!(
        dst.client.list_rows(&sp, &[("columns", "ID,label")]),
        dst.client.list_rows(&ep, &[("columns", "ID,label")])
    );
    let missing = |e: Error| match e {
        Error::NotFound { .. } => Error::not_found("destination project", dst.project.clone()),
        other => other,
    };
    let subjects = subjects
        .map_err(missing)?
        .iter()
        .map(|r| cell(r, "label"))
        .collect();
    let exps = exps
        .map_err(missing)?
        .iter()
        .map(|r| (cell(r, "label"), cell(r, "ID")))
        .collect();
    Ok((subjects, exps))
}

/// Every file of an experiment (scans and session resources), from the download planner.
async fn listing(client: &XnatClient, id: &str, label: &str) -> Result<Vec<PlannedFile>> {
    let session = SessionRef {
        id: id.to_string(),
        label: label.to_string(),
        project: None,
        subject: None,
    };
    let req = PlanRequest {
        scans: ScanSelection::All,
        filter: ResourceFilter::default(),
        session_resources: true,
        workers: 4,
    };
    let plan = build_plan(client, session, std::path::Path::new(""), &req).await?;
    if let Some((item, e)) = plan.item_errors.first() {
        return Err(Error::Operation(format!("listing {item} of {label}: {e}")));
    }
    let mut files = plan.files;
    // Paths that collide only on a case-insensitive file system are fine between servers.
    files.extend(plan.collided);
    Ok(files)
}

async fn source_scans(client: &XnatClient, id: &str) -> Result<Vec<SourceScan>> {
    let rows = client
        .list_rows(
            &format!("/data/experiments/{}/scans", seg(id)?),
            &[("columns", "ID,type,xsiType")],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| SourceScan {
            id: cell(r, "ID"),
            scan_type: cell(r, "type"),
            xsi_type: cell(r, "xsiType"),
        })
        .collect())
}

/// A request body that is the source's answer to `GET path?query`, passed on as it arrives
/// through a channel of [`RELAY_CHUNKS`] chunks: the source is read only as fast as the
/// destination takes it. A failure reading the source ends the body with an error (so the
/// destination's request fails rather than storing a truncated file) and is kept in `failed`.
pub fn relay(
    client: XnatClient,
    path: String,
    query: Vec<(String, String)>,
    failed: Arc<Mutex<Option<String>>>,
) -> reqwest::Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(RELAY_CHUNKS);
    tokio::spawn(async move {
        let note = |m: String| {
            *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(m);
        };
        match client
            .request(Method::GET, &path)
            .query_pairs(query)
            .send()
            .await
        {
            Ok(resp) => {
                let mut body = resp.bytes_stream();
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.map_err(|e| {
                        note(format!("reading {path} from the source: {e}"));
                        std::io::Error::other(e)
                    });
                    let stop = chunk.is_err();
                    if tx.send(chunk).await.is_err() || stop {
                        return;
                    }
                }
            }
            Err(e) => {
                note(format!("reading {path} from the source: {e}"));
                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
            }
        }
    });
    reqwest::Body::wrap_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// Prefer the source's own error when a relayed request failed because of it.
fn source_error(failed: &Mutex<Option<String>>, e: Error) -> Error {
    match (e, failed.lock().unwrap_or_else(|p| p.into_inner()).take()) {
        (Error::Cancelled, _) => Error::Cancelled,
        (_, Some(m)) => Error::Operation(m),
        (e, None) => e,
    }
}

/// What happened to one experiment.
enum Outcome {
    /// Unchanged since its last good copy, and still on the destination.
    Unchanged,
    /// Would be copied (dry run).
    Planned(ExperimentPlan),
    /// Copied.
    Copied {
        dest_id: String,
        plan: ExperimentPlan,
        verified: bool,
    },
}

struct Copier<'a> {
    src: &'a Endpoint,
    dst: &'a Endpoint,
    cfg: &'a TransferConfig,
    opts: &'a RunOptions<'a>,
}

impl Copier<'_> {
    fn dest_experiment_path(&self, subject: &str, label: &str) -> Result<String> {
        Ok(format!(
            "/data/projects/{}/subjects/{}/experiments/{}",
            seg(&self.dst.project)?,
            seg(subject)?,
            seg(label)?
        ))
    }

    async fn experiment(
        &self,
        e: &SourceExperiment,
        subject: &str,
        done: Option<&journal::Done>,
        dest_id: Option<&String>,
        dest_subjects: &mut HashSet<String>,
    ) -> Result<Outcome> {
        let (scans, files) = tokio::join!(
            source_scans(&self.src.client, &e.id),
            listing(&self.src.client, &e.id, &e.label)
        );
        let plan = plan::plan_experiment(self.cfg, &e.xsi_type, &scans?, &files?);
        if dest_id.is_some() && done.is_some_and(|d| d.fingerprint == plan.fingerprint) {
            return Ok(Outcome::Unchanged);
        }
        if self.opts.dry_run {
            return Ok(Outcome::Planned(plan));
        }
        if !dest_subjects.contains(subject) {
            self.ensure_subject(subject).await?;
            dest_subjects.insert(subject.to_string());
        }
        // What an earlier, interrupted or failed copy already put there is not sent again.
        let before = match dest_id {
            Some(id) => listing(&self.dst.client, id, &e.label).await?,
            None => Vec::new(),
        };
        self.import_dicom(e, subject, &plan, &before).await?;
        let dest_id = self.put_experiment(e, subject).await?;
        self.put_scan_shells(e, subject, &plan, &before).await?;
        self.copy_files(e, subject, &plan, &before).await?;
        let verified = self.cfg.verify_after_transfer;
        if verified {
            let after = listing(&self.dst.client, &dest_id, &e.label).await?;
            let problems = plan::verify(&plan, &after);
            if !problems.is_empty() {
                return Err(Error::Verification(problems.join("; ")));
            }
        }
        Ok(Outcome::Copied {
            dest_id,
            plan,
            verified,
        })
    }

    async fn ensure_subject(&self, label: &str) -> Result<()> {
        let path = format!(
            "/data/projects/{}/subjects/{}",
            seg(&self.dst.project)?,
            seg(label)?
        );
        self.dst.client.put(&path, &[]).await.map(|_| ())
    }

    async fn import_dicom(
        &self,
        e: &SourceExperiment,
        subject: &str,
        plan: &ExperimentPlan,
        before: &[PlannedFile],
    ) -> Result<()> {
        let settings = ImportSettings {
            target: Target::new(&self.dst.project, subject, &e.label)?,
            overwrite: Overwrite::Append,
            routing: Routing::DirectArchive,
            ignore_unparsable: true,
        };
        let params = upload::import_params(&settings, upload::Handler::DicomZip);
        let todo: Vec<&(String, usize)> = plan
            .dicom_scans
            .iter()
            .filter(|(scan, n)| {
                let prefix = format!("scans/{scan}/resources/");
                let there = before
                    .iter()
                    .filter(|f| {
                        f.path.starts_with(&prefix)
                            && plan::locate(&f.path).is_some_and(|a| plan::is_dicom(a.label))
                    })
                    .count();
                there < *n
            })
            .collect();
        let workers = self.cfg.scan_workers.max(1) as usize;
        let results: Vec<Result<()>> = futures::stream::iter(todo)
            .map(|(scan, _)| {
                let params = params.clone();
                let target = settings.target.clone();
                async move {
                    let path = format!(
                        "/data/experiments/{}/scans/{}/resources/DICOM/files",
                        seg(&e.id)?,
                        seg(scan)?
                    );
                    let failed = Arc::new(Mutex::new(None));
                    let (client, slot) = (self.src.client.clone(), failed.clone());
                    let body = ImportBody::relayed(
                        move || {
                            relay(
                                client.clone(),
                                path.clone(),
                                vec![("format".into(), "zip".into())],
                                slot.clone(),
                            )
                        },
                        "application/zip",
                    );
                    upload::post_import(
                        &self.dst.client,
                        &params,
                        &body,
                        &target,
                        &self.opts.cancel,
                    )
                    .await
                    .map(|_| ())
                    .map_err(|err| source_error(&failed, err))
                    .map_err(|err| match err {
                        Error::Cancelled => Error::Cancelled,
                        other => Error::Operation(format!("scan {scan}: {other}")),
                    })
                }
            })
            .buffer_unordered(workers)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// Create or update the experiment with its type and, unless `transfer_xml_metadata` is
    /// off, its date, time, notes and custom fields; answers the destination's accession id.
    async fn put_experiment(&self, e: &SourceExperiment, subject: &str) -> Result<String> {
        let path = self.dest_experiment_path(subject, &e.label)?;
        let xsi = if e.xsi_type.is_empty() {
            "xnat:imageSessionData".to_string()
        } else {
            e.xsi_type.clone()
        };
        let mut req = self
            .dst
            .client
            .request(Method::PUT, &path)
            .query("xsiType", &xsi);
        if self.cfg.transfer_xml_metadata {
            let doc = self
                .src
                .client
                .get_json(&format!("/data/experiments/{}", seg(&e.id)?), &[])
                .await?;
            if let Some((row, _)) = experiments::detail_fields(&doc) {
                for key in ["date", "time", "note", "visit_id", "acquisition_site"] {
                    let v = cell(&row, key);
                    if !v.is_empty() {
                        req = req.query(format!("{xsi}/{key}"), v);
                    }
                }
            }
            for (k, v) in experiments::custom_fields(&doc) {
                req = req.query(format!("{xsi}/fields/field[name={k}]/field"), v);
            }
        }
        let resp = req.send().await?;
        let text = resp.text().await.map_err(|source| Error::Body {
            context: "reading the experiment id".into(),
            source,
        })?;
        let id = text
            .trim()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        if id.is_empty() {
            return Err(Error::Operation(format!(
                "the destination did not answer an id for experiment {}",
                e.label
            )));
        }
        Ok(id)
    }

    async fn put_scan_shells(
        &self,
        e: &SourceExperiment,
        subject: &str,
        plan: &ExperimentPlan,
        before: &[PlannedFile],
    ) -> Result<()> {
        let base = self.dest_experiment_path(subject, &e.label)?;
        for s in &plan.shell_scans {
            let prefix = format!("scans/{}/", s.id);
            if before.iter().any(|f| f.path.starts_with(&prefix)) {
                continue;
            }
            let xsi = if s.xsi_type.is_empty() {
                e.xsi_type.replace("SessionData", "ScanData")
            } else {
                s.xsi_type.clone()
            };
            let mut req = self
                .dst
                .client
                .request(Method::PUT, &format!("{base}/scans/{}", seg(&s.id)?))
                .query("xsiType", xsi);
            if !s.scan_type.is_empty() {
                req = req.query("type", &s.scan_type);
            }
            req.send().await?;
        }
        Ok(())
    }

    async fn copy_files(
        &self,
        e: &SourceExperiment,
        subject: &str,
        plan: &ExperimentPlan,
        before: &[PlannedFile],
    ) -> Result<()> {
        let base = self.dest_experiment_path(subject, &e.label)?;
        let present: HashMap<&str, Option<&str>> = before
            .iter()
            .map(|f| (f.path.as_str(), f.digest.as_deref()))
            .collect();
        let todo: Vec<&PlannedFile> = plan
            .files
            .iter()
            .filter(
                |f| match (present.get(f.path.as_str()), f.digest.as_deref()) {
                    (Some(Some(d)), Some(s)) => !d.eq_ignore_ascii_case(s),
                    _ => true,
                },
            )
            .collect();
        let workers = self.cfg.scan_workers.max(1) as usize;
        let results: Vec<Result<()>> = futures::stream::iter(todo)
            .map(|f| {
                let base = base.clone();
                async move {
                    let at = plan::locate(&f.path).ok_or_else(|| {
                        Error::Operation(format!("unexpected file path {}", f.path))
                    })?;
                    let rel = at
                        .rel
                        .split('/')
                        .map(seg)
                        .collect::<Result<Vec<_>>>()?
                        .join("/");
                    let owner = match at.scan {
                        Some(s) => format!("{base}/scans/{}", seg(s)?),
                        None => base.clone(),
                    };
                    let dest = format!("{owner}/resources/{}/files/{rel}", seg(at.label)?);
                    let failed = Arc::new(Mutex::new(None));
                    let (client, uri, slot) =
                        (self.src.client.clone(), f.uri.clone(), failed.clone());
                    let content_type = upload::content_type_for(at.rel);
                    let req = self
                        .dst
                        .client
                        .request(Method::PUT, &dest)
                        .query("overwrite", "true")
                        .stream(
                            move || relay(client.clone(), uri.clone(), Vec::new(), slot.clone()),
                            content_type,
                        );
                    let sent = tokio::select! {
                        r = req.send() => r,
                        _ = self.opts.cancel.cancelled() => return Err(Error::Cancelled),
                    };
                    sent.map(|_| ())
                        .map_err(|err| source_error(&failed, err))
                        .map_err(|err| Error::Operation(format!("{}: {err}", f.path)))
                }
            })
            .buffer_unordered(workers)
            .collect()
            .await;
        results.into_iter().collect()
    }
}

/// Copy `src`'s project into `dst`'s, as `opts` says; the journal in `opts.state_dir` records
/// every experiment's outcome as it happens.
pub async fn run(src: &Endpoint, dst: &Endpoint, opts: &RunOptions<'_>) -> Result<TransferReport> {
    let cfg = &opts.config;
    let pair = Pair {
        source_url: normalize_url(src.client.base_url()),
        source_project: src.project.clone(),
        dest_url: normalize_url(dst.client.base_url()),
        dest_project: dst.project.clone(),
    };
    let mut report = TransferReport::new(&pair, opts.dry_run);
    (opts.note)("Discovering subjects...");
    let (subjects, exps) = discover(src).await?;
    let (mut dest_subjects, dest_exps) = dest_state(dst).await?;
    let (mut journal, history) = if opts.dry_run {
        (None, History::load(&opts.state_dir)?)
    } else {
        let (j, h) = Journal::open(&opts.state_dir)?;
        (Some(j), h)
    };
    let done = history.done(&pair);
    if let Some(j) = journal.as_mut() {
        upload::check_direct_archive(&dst.client).await?;
        let run = history.next_run();
        report.sync_id = Some(run);
        j.append(&Record::Run {
            run,
            pair: pair.clone(),
            started: journal::now(),
        })?;
    }
    let run_id = report.sync_id.unwrap_or(0);
    let copier = Copier {
        src,
        dst,
        cfg,
        opts,
    };
    let mut by_subject: HashMap<&str, Vec<&SourceExperiment>> = HashMap::new();
    for e in &exps {
        if cfg.includes_experiment(&e.xsi_type) {
            by_subject.entry(e.subject_id.as_str()).or_default().push(e);
        }
    }
    let mut consecutive = 0u32;
    let mut interrupted = false;
    'subjects: for s in &subjects {
        if opts.cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        let mine = by_subject.remove(s.id.as_str()).unwrap_or_default();
        let mut copied = 0u64;
        let mut failed = false;
        if mine.is_empty() && !dest_subjects.contains(&s.label) {
            if opts.dry_run {
                copied += 1;
            } else {
                match copier.ensure_subject(&s.label).await {
                    Ok(()) => {
                        dest_subjects.insert(s.label.clone());
                        copied += 1;
                    }
                    Err(e) => {
                        report.errors.push(format!("Subject {}: {e}", s.label));
                        failed = true;
                    }
                }
            }
        }
        for e in mine {
            let outcome = tokio::select! {
                r = copier.experiment(
                    e,
                    &s.label,
                    done.get(&e.id),
                    dest_exps.get(&e.label),
                    &mut dest_subjects,
                ) => r,
                _ = opts.cancel.cancelled() => Err(Error::Cancelled),
            };
            let entry = |status, dest_id: Option<String>, plan: Option<&ExperimentPlan>, msg| {
                Record::Experiment {
                    run: run_id,
                    source_id: e.id.clone(),
                    label: e.label.clone(),
                    subject: s.label.clone(),
                    dest_id,
                    fingerprint: plan.map(|p| p.fingerprint.clone()).unwrap_or_default(),
                    status,
                    message: msg,
                    files: plan.map_or(0, |p| p.included.len() as u64),
                    bytes: plan.map_or(0, ExperimentPlan::bytes),
                }
            };
            match outcome {
                Ok(Outcome::Unchanged) => report.experiments_skipped += 1,
                Ok(Outcome::Planned(plan)) => {
                    (opts.note)(&format!(
                        "[DRY RUN] would copy {} / {} ({} files, {} bytes)",
                        s.label,
                        e.label,
                        plan.included.len(),
                        plan.bytes()
                    ));
                    report.experiments_synced += 1;
                    copied += 1;
                }
                Ok(Outcome::Copied {
                    dest_id,
                    plan,
                    verified,
                }) => {
                    let status = if verified {
                        EntryStatus::Verified
                    } else {
                        EntryStatus::Synced
                    };
                    if let Some(j) = journal.as_mut() {
                        j.append(&entry(status, Some(dest_id), Some(&plan), None))?;
                    }
                    (opts.note)(&format!(
                        "  {} / {}: {} files copied{}",
                        s.label,
                        e.label,
                        plan.included.len(),
                        if verified { ", verified" } else { "" }
                    ));
                    report.experiments_synced += 1;
                    copied += 1;
                }
                Err(Error::Cancelled) => {
                    interrupted = true;
                    break 'subjects;
                }
                Err(err) => {
                    let msg = format!("Experiment {} ({}): {err}", e.label, s.label);
                    (opts.note)(&format!("  {msg}"));
                    if let Some(j) = journal.as_mut() {
                        j.append(&entry(
                            EntryStatus::Failed,
                            None,
                            None,
                            Some(err.to_string()),
                        ))?;
                    }
                    report.experiments_failed += 1;
                    report.errors.push(msg);
                    failed = true;
                }
            }
        }
        if failed {
            report.subjects_failed += 1;
            consecutive += 1;
            if consecutive >= cfg.max_failures.max(1) {
                report.errors.push(format!(
                    "Circuit breaker: {consecutive} consecutive failures"
                ));
                break;
            }
        } else {
            consecutive = 0;
            if copied > 0 {
                report.subjects_synced += 1;
            } else {
                report.subjects_skipped += 1;
            }
        }
    }
    report.success = report.errors.is_empty() && !interrupted;
    if let Some(j) = journal.as_mut() {
        j.append(&Record::End {
            run: run_id,
            status: if interrupted {
                "interrupted"
            } else if report.success {
                "completed"
            } else {
                "failed"
            }
            .into(),
            ended: journal::now(),
            subjects_synced: report.subjects_synced,
            subjects_failed: report.subjects_failed,
            subjects_skipped: report.subjects_skipped,
            experiments_synced: report.experiments_synced,
        })?;
    }
    report.interrupted = interrupted;
    Ok(report)
}
