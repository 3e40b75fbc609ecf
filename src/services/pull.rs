//! `project pull`: a local, verified mirror of a project, brought up to date incrementally.
//!
//! One project-wide experiments listing (with the `insert_date` and `last_modified` columns XNAT
//! serves for experiments, fidelity spec §5 / §16) decides which sessions are new, changed,
//! unchanged or gone, against the state file the previous pull left in the mirror
//! (`<out>/.xnatctl-pull.json`). Unchanged sessions cost no further request. New and changed
//! ones go through the download engine (`services::download`): one file listing, archives for
//! what is missing, every file checked against its catalog digest before it gets its final
//! name, and files already present with the right digest left alone, so a changed session
//! fetches only its changed files and an interrupted pull resumes where it stopped.
//!
//! Layout (docs/pull.md): `<out>/<subject label>/<session label>/` in the session download's
//! layout; `--delete` moves what the server no longer has to `<out>/.trash/<date>/` (never
//! deletes).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::core::client::{seg, XnatClient};
use crate::core::error::{Error, Result};
use crate::core::output::{Report, Row};
use crate::core::progress::Progress;
use crate::core::validation::validate_local_path_component;
use crate::services::download::{
    self, build_plan, execute, ExecOptions, PlanRequest, ResourceFilter, ScanSelection,
    SessionLock, SessionRef,
};
use crate::services::transfer::ItemStatus;

/// The state file's name inside the mirror.
pub const STATE_FILE: &str = ".xnatctl-pull.json";
/// The trash folder's name inside the mirror.
pub const TRASH_DIR: &str = ".trash";

/// What to mirror and how.
#[derive(Debug, Clone)]
pub struct PullRequest {
    /// Project ID.
    pub project: String,
    /// The mirror's root.
    pub out: PathBuf,
    /// Only these subjects (labels or IDs); empty = all.
    pub subjects: Vec<String>,
    /// Only these modalities (`MR`, `PET`, ...), compared case-insensitively; empty = all.
    pub modalities: Vec<String>,
    /// Only sessions inserted or modified on or after this day (`YYYY-MM-DD`).
    pub since: Option<String>,
    /// Only this session type (`xnat:mrSessionData`).
    pub xsi_type: Option<String>,
    /// Only these sessions (accession IDs or labels, from `--manifest`); empty = all.
    pub sessions: Vec<String>,
    /// Resource labels to keep or skip.
    pub filter: ResourceFilter,
    /// Also the sessions' own resources.
    pub session_resources: bool,
    /// Re-list every selected session's files, unchanged ones too (catalog comparison).
    pub rescan: bool,
    /// Move what the server no longer has into the trash.
    pub delete: bool,
    /// Sessions transferred at once.
    pub workers: usize,
}

impl PullRequest {
    /// What decides the files of a session besides the server: a state recorded under another
    /// selection does not vouch for this one.
    fn selection(&self) -> String {
        format!(
            "include={};exclude={};session_resources={}",
            self.filter.include.join(","),
            self.filter.exclude.join(","),
            self.session_resources
        )
    }
}

/// One session as the previous pull left it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StateEntry {
    /// Session label (its folder name).
    pub label: String,
    /// Subject label (its parent folder name).
    pub subject: String,
    /// `last_modified` (else `insert_date`) of the listing row it was pulled at.
    pub stamp: String,
    /// Every file was mirrored and verified.
    pub complete: bool,
    /// Files in the mirror.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// The mirror's state file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Format version (1).
    pub version: u32,
    /// Project ID.
    pub project: String,
    /// Resource selection the entries were pulled with.
    pub selection: String,
    /// Session accession ID → entry.
    pub sessions: BTreeMap<String, StateEntry>,
}

impl State {
    /// Read `<out>/.xnatctl-pull.json`; absent → empty. A state of another project is refused
    /// (two projects in one folder would trash each other's sessions).
    pub fn load(out: &Path, project: &str) -> Result<State> {
        let path = out.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State {
                    version: 1,
                    project: project.to_string(),
                    ..Default::default()
                })
            }
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        let state: State = serde_json::from_str(&text).map_err(|source| Error::Json {
            context: "reading the mirror state file",
            source,
        })?;
        if state.project != project {
            return Err(Error::usage(format!(
                "{} mirrors project {}, not {project}; choose another --out",
                out.display(),
                state.project
            )));
        }
        Ok(state)
    }

    /// Write it atomically (temporary file, then rename).
    pub fn save(&self, out: &Path) -> Result<()> {
        std::fs::create_dir_all(out)
            .map_err(|e| Error::io(format!("creating {}", out.display()), e))?;
        let path = out.join(STATE_FILE);
        let tmp = out.join(format!("{STATE_FILE}.tmp"));
        let text = serde_json::to_string_pretty(self).map_err(|source| Error::Json {
            context: "writing the mirror state file",
            source,
        })?;
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }
}

/// A session row of the project's experiments listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Accession ID.
    pub id: String,
    /// Label.
    pub label: String,
    /// Subject accession ID.
    pub subject_id: String,
    /// Subject label.
    pub subject: String,
    /// `xnat:mrSessionData`, ...
    pub xsi_type: String,
    /// `MR`, `PET`, ... (the `modality` column, else from the type).
    pub modality: String,
    /// `last_modified`, else `insert_date`.
    pub stamp: String,
}

fn text(row: &Map<String, Value>, key: &str) -> String {
    match row.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// `xnat:mrSessionData` → `MR`.
fn modality_of_type(xsi: &str) -> String {
    let name = xsi.rsplit(':').next().unwrap_or(xsi);
    name.strip_suffix("SessionData")
        .unwrap_or("")
        .to_ascii_uppercase()
}

/// Every session of the project, from one listing. XNAT's project experiments listing takes
/// `columns=` with any experiment field; `last_modified` and `insert_date` are read-only
/// fields of every experiment (fidelity spec §16), `subject_label` a display field.
pub async fn list_sessions(client: &XnatClient, project: &str) -> Result<Vec<Listed>> {
    let path = format!("/data/projects/{}/experiments", seg(project)?);
    let rows = client
        .list_rows(
            &path,
            &[(
                "columns",
                "ID,label,subject_ID,subject_label,xsiType,modality,insert_date,last_modified",
            )],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let id = text(r, "ID");
            if id.is_empty() {
                return None;
            }
            let xsi_type = text(r, "xsiType");
            let modality = match text(r, "modality") {
                m if !m.is_empty() => m.to_ascii_uppercase(),
                _ => modality_of_type(&xsi_type),
            };
            let stamp = match text(r, "last_modified") {
                s if !s.is_empty() => s,
                _ => text(r, "insert_date"),
            };
            let label = match text(r, "label") {
                l if !l.is_empty() => l,
                _ => id.clone(),
            };
            Some(Listed {
                label,
                subject_id: text(r, "subject_ID"),
                subject: text(r, "subject_label"),
                id,
                xsi_type,
                modality,
                stamp,
            })
        })
        .collect())
}

/// How a session compares with the mirror.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Not in the mirror yet.
    New,
    /// In the mirror, but the server's stamp moved, or the last pull did not finish it.
    Changed,
    /// As the last pull left it.
    Unchanged,
    /// In the mirror, no longer on the server.
    Gone,
}

/// What happened to a session.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Mirrored and verified now.
    Success,
    /// Some files could not be mirrored (the next pull fetches what is missing).
    Failed,
    /// Nothing to do.
    Unchanged,
    /// Gone from the server; left in place (no `--delete`).
    Kept,
    /// Gone from the server; moved to the trash.
    Trashed,
    /// `--dry-run`: what a pull would do.
    Planned,
    /// Not attempted: the run was cancelled first.
    Cancelled,
}

/// One session of the pull summary.
#[derive(Debug, Clone, Serialize)]
pub struct SessionResult {
    /// Accession ID.
    pub session_id: String,
    /// Session label.
    pub label: String,
    /// Subject label.
    pub subject: String,
    /// New, changed, unchanged or gone.
    pub change: Change,
    /// What happened.
    pub status: Outcome,
    /// Files in the mirror after the run (for a dry run: in the catalog).
    pub files: usize,
    /// Files fetched by this run.
    pub transferred: usize,
    /// Bytes of `files`.
    pub bytes: u64,
    /// Bytes fetched by this run.
    pub bytes_transferred: u64,
    /// Local files moved to the trash.
    pub trashed: usize,
    /// Why it failed.
    pub error: Option<String>,
}

impl Row for SessionResult {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("subject", "Subject"),
        ("label", "Session"),
        ("change", "Change"),
        ("status", "Status"),
        ("files", "Files"),
        ("transferred", "Transferred"),
        ("bytes", "Bytes"),
        ("trashed", "Trashed"),
        ("error", "Error"),
    ];
    const ID: &'static str = "session_id";
}

/// The pull summary (JSON: this document; table: one row per session).
#[derive(Debug, Clone, Serialize)]
pub struct PullSummary {
    /// Always `pull`.
    pub operation: &'static str,
    /// `--dry-run`.
    pub dry_run: bool,
    /// Project ID.
    pub project: String,
    /// The mirror's root.
    pub output_dir: String,
    /// Sessions not mirrored before.
    pub new: usize,
    /// Sessions changed on the server (or unfinished).
    pub changed: usize,
    /// Sessions as the last pull left them.
    pub unchanged: usize,
    /// Sessions gone from the server.
    pub gone: usize,
    /// Sessions that failed.
    pub failed: usize,
    /// Files fetched.
    pub files_transferred: usize,
    /// Bytes fetched (dry run: bytes of the new and changed sessions' catalogs).
    pub bytes: u64,
    /// Per session, in subject and label order.
    pub sessions: Vec<SessionResult>,
}

impl Report for PullSummary {
    type Row = SessionResult;
    fn rows(&self) -> Vec<SessionResult> {
        self.sessions.clone()
    }
}

impl PullSummary {
    /// The closing line.
    pub fn line(&self) -> String {
        let verb = if self.dry_run { "Would pull" } else { "Pulled" };
        format!(
            "{verb} {}: {} new, {} changed, {} unchanged, {} gone; {} files, {} bytes",
            self.project,
            self.new,
            self.changed,
            self.unchanged,
            self.gone,
            self.files_transferred,
            self.bytes
        )
    }
}

/// Whether a listed session passes the request's filters.
fn selected(req: &PullRequest, s: &Listed) -> bool {
    (req.sessions.is_empty() || req.sessions.iter().any(|w| *w == s.id || *w == s.label))
        && (req.subjects.is_empty()
            || req
                .subjects
                .iter()
                .any(|w| *w == s.subject || *w == s.subject_id))
        && (req.modalities.is_empty()
            || req
                .modalities
                .iter()
                .any(|m| m.eq_ignore_ascii_case(&s.modality)))
        && req
            .xsi_type
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case(&s.xsi_type))
        && req
            .since
            .as_deref()
            .is_none_or(|d| s.stamp.get(..10).is_some_and(|day| day >= d))
}

/// Move `path` (inside `out`) to `<out>/.trash/<day>/<same relative path>`, never over an
/// existing file (a numbered suffix instead).
fn trash(out: &Path, day: &str, path: &Path) -> Result<()> {
    let rel = path.strip_prefix(out).unwrap_or(path);
    let mut dest = out.join(TRASH_DIR).join(day).join(rel);
    let mut n = 1;
    while dest.symlink_metadata().is_ok() {
        n += 1;
        let mut name = out.join(TRASH_DIR).join(day).join(rel).into_os_string();
        name.push(format!(".{n}"));
        dest = PathBuf::from(name);
    }
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    std::fs::rename(path, &dest).map_err(|e| {
        Error::io(
            format!("moving {} to {}", path.display(), dest.display()),
            e,
        )
    })
}

/// Local files of the session's selected resources that its catalog no longer lists.
fn stale_files(plan: &download::DownloadPlan, req: &PullRequest) -> Vec<PathBuf> {
    let listed: std::collections::HashSet<&str> = plan
        .files
        .iter()
        .chain(&plan.collided)
        .map(|f| f.path.as_str())
        .collect();
    let mut stale = Vec::new();
    let mut stack = vec![plan.session_dir.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(rel) = p.strip_prefix(&plan.session_dir) else {
                continue;
            };
            let rel = rel.to_string_lossy().replace('\\', "/");
            if download::staged::is_temp_name(&e.file_name().to_string_lossy()) {
                continue;
            }
            let Some((scan, label, _)) = split_layout(&rel) else {
                continue;
            };
            let wanted = req.filter.allows(label) && (scan || req.session_resources);
            if wanted && !listed.contains(rel.as_str()) {
                stale.push(p);
            }
        }
    }
    stale.sort();
    stale
}

/// `(is a scan resource, label, relpath)` of a layout path.
fn split_layout(path: &str) -> Option<(bool, &str, &str)> {
    let (scan, rest) = match path.strip_prefix("scans/") {
        Some(rest) => (true, rest.split_once('/')?.1),
        None => (false, path),
    };
    let rest = rest.strip_prefix("resources/")?;
    let (label, rest) = rest.split_once('/')?;
    Some((scan, label, rest.strip_prefix("files/")?))
}

/// Everything a pull run needs besides the request.
pub struct PullRun<'a> {
    /// The client.
    pub client: &'a XnatClient,
    /// Where resume manifests and session locks live.
    pub manifest_dir: PathBuf,
    /// Overall progress (bytes of all sessions).
    pub progress: &'a dyn Progress,
    /// Ctrl-C.
    pub cancel: &'a CancellationToken,
}

/// What one session's transfer did.
struct Pulled {
    result: SessionResult,
    entry: Option<StateEntry>,
    auth_failed: Option<String>,
}

async fn pull_session(
    run: &PullRun<'_>,
    req: &PullRequest,
    s: &Listed,
    change: Change,
    today: &str,
    dry_run: bool,
) -> Pulled {
    let mut result = SessionResult {
        session_id: s.id.clone(),
        label: s.label.clone(),
        subject: s.subject.clone(),
        change,
        status: Outcome::Failed,
        files: 0,
        transferred: 0,
        bytes: 0,
        bytes_transferred: 0,
        trashed: 0,
        error: None,
    };
    let fail = |mut r: SessionResult, e: Error| {
        r.error = Some(e.to_string());
        Pulled {
            result: r,
            entry: None,
            auth_failed: None,
        }
    };
    if run.cancel.is_cancelled() {
        result.status = Outcome::Cancelled;
        return Pulled {
            result,
            entry: None,
            auth_failed: None,
        };
    }
    if let Err(e) = validate_local_path_component(&s.subject) {
        return fail(result, e);
    }
    let session = SessionRef {
        id: s.id.clone(),
        label: s.label.clone(),
        project: Some(req.project.clone()),
        subject: Some(s.subject_id.clone()),
    };
    let preq = PlanRequest {
        scans: ScanSelection::All,
        filter: req.filter.clone(),
        session_resources: req.session_resources,
        workers: 1,
    };
    let plan = match build_plan(run.client, session, &req.out.join(&s.subject), &preq).await {
        Ok(p) => p,
        Err(e) => return fail(result, e),
    };
    if dry_run {
        result.status = Outcome::Planned;
        result.files = plan.files.len();
        result.bytes = plan.total_bytes();
        return Pulled {
            result,
            entry: None,
            auth_failed: None,
        };
    }
    let _lock = match SessionLock::acquire(&run.manifest_dir, &plan.session_dir, run.cancel, || {
        tracing::info!(session = %s.label, "another download into this session is running; waiting")
    })
    .await
    {
        Ok(l) => l,
        Err(e) => return fail(result, e),
    };
    let opts = ExecOptions {
        // Sessions run `workers` at a time; each with one request at a time for single files
        // (its archives, one per resource label, start together).
        workers: 1,
        attempts: 3,
        manifest_dir: Some(run.manifest_dir.clone()),
        stall_after: std::time::Duration::from_secs(120),
        sweep_leftovers: true,
        archives: true,
    };
    let report = execute(run.client, &plan, opts, run.progress, run.cancel).await;
    let items = download::item_results(&plan, &report, None);
    result.files = report.complete();
    result.transferred = report
        .files
        .iter()
        .filter(|(_, st)| matches!(st, download::FileStatus::Downloaded(_)))
        .count();
    result.bytes = report
        .files
        .iter()
        .filter(|(_, st)| {
            matches!(
                st,
                download::FileStatus::Downloaded(_) | download::FileStatus::UpToDate
            )
        })
        .map(|(f, _)| f.size.unwrap_or(0))
        .sum();
    result.bytes_transferred = report.bytes();
    let failed: Vec<String> = items
        .iter()
        .filter(|i| i.status == ItemStatus::Failed)
        .map(|i| format!("{}: {}", i.id, i.error.as_deref().unwrap_or("failed")))
        .collect();
    let complete = failed.is_empty() && !report.cancelled && report.auth_failed.is_none();
    if complete && req.delete {
        for p in stale_files(&plan, req) {
            match trash(&req.out, today, &p) {
                Ok(()) => result.trashed += 1,
                Err(e) => tracing::info!(error = %e, "could not move a stale file to the trash"),
            }
        }
    }
    result.status = if report.cancelled && report.auth_failed.is_none() {
        Outcome::Cancelled
    } else if complete {
        Outcome::Success
    } else {
        Outcome::Failed
    };
    if !complete {
        result.error = Some(match (&report.auth_failed, failed.first()) {
            (Some(why), _) => why.clone(),
            (None, Some(first)) if failed.len() > 1 => {
                format!("{first} (and {} more)", failed.len() - 1)
            }
            (None, Some(first)) => first.clone(),
            (None, None) => "cancelled".into(),
        });
    }
    Pulled {
        entry: Some(StateEntry {
            label: s.label.clone(),
            subject: s.subject.clone(),
            stamp: s.stamp.clone(),
            complete,
            files: result.files,
            bytes: result.bytes,
        }),
        auth_failed: report.auth_failed.clone(),
        result,
    }
}

/// Compare the listing with the mirror, then (unless `dry_run`) bring the mirror up to date.
/// The state file is saved after every session, so an interrupted pull keeps what it finished.
pub async fn pull(run: &PullRun<'_>, req: &PullRequest, dry_run: bool) -> Result<PullSummary> {
    let mut state = State::load(&req.out, &req.project)?;
    let listed = list_sessions(run.client, &req.project).await?;
    let same_selection = state.selection == req.selection() || state.sessions.is_empty();
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();

    let mut work: Vec<(Listed, Change)> = Vec::new();
    let mut results: Vec<SessionResult> = Vec::new();
    for s in listed.iter().filter(|s| selected(req, s)) {
        let change = match state.sessions.get(&s.id) {
            None => Change::New,
            Some(e)
                if same_selection
                    && e.complete
                    && e.stamp == s.stamp
                    && e.label == s.label
                    && e.subject == s.subject =>
            {
                Change::Unchanged
            }
            Some(_) => Change::Changed,
        };
        if change == Change::Unchanged && !req.rescan {
            let e = &state.sessions[&s.id];
            results.push(SessionResult {
                session_id: s.id.clone(),
                label: s.label.clone(),
                subject: s.subject.clone(),
                change,
                status: Outcome::Unchanged,
                files: e.files,
                transferred: 0,
                bytes: e.bytes,
                bytes_transferred: 0,
                trashed: 0,
                error: None,
            });
        } else {
            work.push((s.clone(), change));
        }
    }

    // Gone: mirrored before, absent from the listing (whatever the filters).
    let on_server: std::collections::HashSet<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    let gone: Vec<(String, StateEntry)> = state
        .sessions
        .iter()
        .filter(|(id, _)| !on_server.contains(id.as_str()))
        .map(|(id, e)| (id.clone(), e.clone()))
        .collect();

    if !dry_run {
        state.selection = req.selection();
    }
    let mut auth_failed = None;
    {
        let mut running = futures::stream::iter(work.iter())
            .map(|(s, change)| pull_session(run, req, s, *change, &today, dry_run))
            .buffer_unordered(req.workers.max(1));
        while let Some(p) = running.next().await {
            if let Some(e) = p.entry {
                state.sessions.insert(p.result.session_id.clone(), e);
                state.save(&req.out)?;
            }
            if auth_failed.is_none() {
                auth_failed = p.auth_failed;
            }
            results.push(p.result);
        }
    }

    for (id, e) in gone {
        let dir = req.out.join(&e.subject).join(&e.label);
        let mut status = Outcome::Kept;
        if dry_run {
            status = Outcome::Planned;
        } else if req.delete {
            if dir.exists() {
                trash(&req.out, &today, &dir)?;
            }
            state.sessions.remove(&id);
            state.save(&req.out)?;
            status = Outcome::Trashed;
        }
        results.push(SessionResult {
            session_id: id,
            label: e.label,
            subject: e.subject,
            change: Change::Gone,
            status,
            files: e.files,
            transferred: 0,
            bytes: e.bytes,
            bytes_transferred: 0,
            trashed: usize::from(status == Outcome::Trashed),
            error: None,
        });
    }
    if !dry_run && work.is_empty() && !state.sessions.is_empty() {
        state.save(&req.out)?;
    }
    if let Some(why) = auth_failed {
        return Err(Error::Auth(format!(
            "stopped the pull: the server no longer accepts the session and it could not be renewed ({why})"
        )));
    }
    results.sort_by(|a, b| (&a.subject, &a.label).cmp(&(&b.subject, &b.label)));
    let count = |c: Change| results.iter().filter(|r| r.change == c).count();
    Ok(PullSummary {
        operation: "pull",
        dry_run,
        project: req.project.clone(),
        output_dir: req.out.display().to_string(),
        new: count(Change::New),
        changed: count(Change::Changed),
        unchanged: count(Change::Unchanged),
        gone: count(Change::Gone),
        failed: results
            .iter()
            .filter(|r| r.status == Outcome::Failed)
            .count(),
        files_transferred: results.iter().map(|r| r.transferred).sum(),
        bytes: if dry_run {
            results
                .iter()
                .filter(|r| matches!(r.change, Change::New | Change::Changed))
                .map(|r| r.bytes)
                .sum()
        } else {
            results.iter().map(|r| r.bytes_transferred).sum()
        },
        sessions: results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modality_from_the_session_type() {
        assert_eq!(modality_of_type("xnat:mrSessionData"), "MR");
        assert_eq!(modality_of_type("xnat:petSessionData"), "PET");
        assert_eq!(modality_of_type("xnat:otherDicomSessionData"), "OTHERDICOM");
        assert_eq!(modality_of_type("xnat:subjectData"), "");
    }

    #[test]
    fn layout_paths_split_into_resource_and_relpath() {
        assert_eq!(
            split_layout("scans/1/resources/DICOM/files/a/b.dcm"),
            Some((true, "DICOM", "a/b.dcm"))
        );
        assert_eq!(
            split_layout("resources/NOTES/files/n.txt"),
            Some((false, "NOTES", "n.txt"))
        );
        assert_eq!(split_layout("notes.txt"), None);
    }
}
