//! `project transfer`: copy a project from one XNAT to another, incrementally and resumably.
//!
//! - `config`: the reference's YAML configuration and its filters.
//! - `journal`: the local state (what was copied, with which fingerprint, each run's history).
//! - `plan`: per experiment, what to import, what to copy file by file, how to verify (pure).
//! - `run`: the copy itself, streaming between the two servers.
//!
//! How it behaves, and why, is in docs/transfer.md.

pub mod config;
pub mod journal;
pub mod plan;
mod run;

use std::path::PathBuf;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

pub use config::TransferConfig;
pub use run::{relay, run, RELAY_CHUNKS};

use crate::core::auth::normalize_url;
use crate::core::client::{seg, XnatClient};
use crate::core::output::{Item, Row};
use crate::core::{Error, Result};
use journal::{History, Pair, Record};

/// One side of a transfer.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Its authenticated client.
    pub client: XnatClient,
    /// The project on that server.
    pub project: String,
}

/// How to run.
pub struct RunOptions<'a> {
    /// The configuration.
    pub config: TransferConfig,
    /// Plan only: read both servers and the journal, write nothing.
    pub dry_run: bool,
    /// Where the journal lives (the config directory).
    pub state_dir: PathBuf,
    /// Fired by Ctrl-C: the run stops between requests, journals it, and returns.
    pub cancel: CancellationToken,
    /// Progress lines (one per subject and experiment).
    pub note: &'a (dyn Fn(&str) + Sync),
}

/// The result of `project transfer`: the reference's keys, plus experiment counts and the run id.
#[derive(Debug, Clone, Serialize)]
pub struct TransferReport {
    /// Source base URL.
    pub source: String,
    /// Destination base URL.
    pub destination: String,
    /// Source project.
    pub source_project: String,
    /// Destination project.
    pub dest_project: String,
    /// Subjects with something copied and nothing failed (dry run: that would be copied).
    pub subjects_synced: u64,
    /// Subjects with a failed experiment.
    pub subjects_failed: u64,
    /// Subjects with nothing to copy.
    pub subjects_skipped: u64,
    /// Experiments copied (dry run: that would be copied).
    pub experiments_synced: u64,
    /// Experiments unchanged since their last good copy.
    pub experiments_skipped: u64,
    /// Experiments that failed (retried by the next run).
    pub experiments_failed: u64,
    /// True when nothing failed and the run was not interrupted.
    pub success: bool,
    /// A dry run.
    pub dry_run: bool,
    /// The run's id in the journal (`transfer-history`); none for a dry run.
    pub sync_id: Option<u64>,
    /// What failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Stopped by Ctrl-C.
    #[serde(skip)]
    pub interrupted: bool,
}

impl TransferReport {
    fn new(pair: &Pair, dry_run: bool) -> Self {
        TransferReport {
            source: pair.source_url.clone(),
            destination: pair.dest_url.clone(),
            source_project: pair.source_project.clone(),
            dest_project: pair.dest_project.clone(),
            subjects_synced: 0,
            subjects_failed: 0,
            subjects_skipped: 0,
            experiments_synced: 0,
            experiments_skipped: 0,
            experiments_failed: 0,
            success: false,
            dry_run,
            sync_id: None,
            errors: Vec::new(),
            interrupted: false,
        }
    }
}

impl Item for TransferReport {
    const ID: &'static str = "source_project";
}

/// One line of `transfer-check`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRow {
    /// What was checked.
    pub check: String,
    /// `PASS` or `FAIL`.
    pub status: String,
    /// What was found.
    pub detail: String,
}

impl Row for CheckRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("check", "Check"),
        ("status", "Status"),
        ("detail", "Detail"),
    ];
    const ID: &'static str = "check";
}

impl CheckRow {
    fn of(check: &str, r: Result<String>) -> Self {
        let (status, detail) = match r {
            Ok(d) => ("PASS", d),
            Err(e) => ("FAIL", e.to_string()),
        };
        CheckRow {
            check: check.into(),
            status: status.into(),
            detail,
        }
    }

    /// Whether the check passed.
    pub fn passed(&self) -> bool {
        self.status == "PASS"
    }
}

async fn version(client: &XnatClient) -> Result<String> {
    let text = client
        .get_text("/xapi/siteConfig/buildInfo/version", &[])
        .await?;
    Ok(text.trim().trim_matches('"').to_string())
}

async fn project_access(client: &XnatClient, project: &str) -> Result<String> {
    client
        .get_json(&format!("/data/projects/{}", seg(project)?), &[])
        .await
        .map(|_| format!("{project} exists and is readable"))
        .map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found("project", project),
            other => other,
        })
}

/// `transfer-check`: both servers answer, both logins work, both projects exist, and the
/// destination is recent enough for direct-archive imports. Writes nothing.
pub async fn check(
    src: std::result::Result<&Endpoint, String>,
    dst: std::result::Result<&Endpoint, String>,
) -> Vec<CheckRow> {
    let mut rows = Vec::new();
    for (side, ep) in [("Source", src), ("Dest", dst)] {
        let ep = match ep {
            Ok(ep) => ep,
            Err(msg) => {
                rows.push(CheckRow::of(
                    &format!("{side} connectivity"),
                    Err(Error::Operation(msg)),
                ));
                continue;
            }
        };
        rows.push(CheckRow::of(
            &format!("{side} connectivity"),
            version(&ep.client).await,
        ));
        rows.push(CheckRow::of(
            &format!("{side} auth"),
            ep.client.whoami().await.map(|u| u.username),
        ));
        rows.push(CheckRow::of(
            &format!("{side} project"),
            project_access(&ep.client, &ep.project).await,
        ));
        if side == "Dest" {
            rows.push(CheckRow::of(
                "Dest direct archive",
                crate::services::upload::check_direct_archive(&ep.client)
                    .await
                    .map(|()| "imports can go straight to the archive".into()),
            ));
        }
    }
    rows
}

/// `transfer-status`: the newest run from this source.
#[derive(Debug, Clone, Serialize)]
pub struct StatusItem {
    /// Run id.
    pub sync_id: u64,
    /// `running`, `completed`, `failed` or `interrupted`.
    pub status: String,
    /// Start time.
    pub started: String,
    /// End time (null while running).
    pub ended: Option<String>,
    /// Subjects copied.
    pub subjects_synced: u64,
    /// Subjects failed.
    pub subjects_failed: u64,
    /// Subjects unchanged.
    pub subjects_skipped: u64,
    /// Destination URL.
    pub destination: String,
    /// Destination project.
    pub dest_project: String,
}

impl Item for StatusItem {
    const ID: &'static str = "sync_id";
    const LABELS: &'static [(&'static str, &'static str)] = &[("sync_id", "Sync ID")];
}

/// One row of `transfer-history`.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    /// Run id.
    pub id: u64,
    /// Outcome.
    pub status: String,
    /// Start time, to the second.
    pub started: String,
    /// Destination URL.
    pub dest: String,
    /// Subjects copied.
    pub synced: u64,
    /// Subjects failed.
    pub failed: u64,
}

impl Row for HistoryRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "ID"),
        ("status", "Status"),
        ("started", "Started"),
        ("dest", "Destination"),
        ("synced", "Synced"),
        ("failed", "Failed"),
    ];
    const ID: &'static str = "id";
}

fn views(
    state_dir: &std::path::Path,
    source_url: &str,
    project: &str,
) -> Result<Vec<journal::RunView>> {
    let history = History::load(state_dir)?;
    if history.is_empty() {
        return Err(Error::Operation("No transfer history found".into()));
    }
    let runs = history.runs_of(&normalize_url(source_url), project);
    if runs.is_empty() {
        return Err(Error::Operation(format!(
            "No transfers found for {project}"
        )));
    }
    Ok(runs)
}

fn status_of(v: &journal::RunView) -> StatusItem {
    let (status, ended, s, f, k) = match &v.end {
        Some(Record::End {
            status,
            ended,
            subjects_synced,
            subjects_failed,
            subjects_skipped,
            ..
        }) => (
            status.clone(),
            Some(ended.clone()),
            *subjects_synced,
            *subjects_failed,
            *subjects_skipped,
        ),
        _ => ("running".to_string(), None, 0, 0, 0),
    };
    StatusItem {
        sync_id: v.run,
        status,
        started: v.started.clone(),
        ended,
        subjects_synced: s,
        subjects_failed: f,
        subjects_skipped: k,
        destination: v.pair.dest_url.clone(),
        dest_project: v.pair.dest_project.clone(),
    }
}

/// The newest run of `project` from the server at `source_url`.
pub fn status(state_dir: &std::path::Path, source_url: &str, project: &str) -> Result<StatusItem> {
    let runs = views(state_dir, source_url, project)?;
    let newest = runs.iter().max_by_key(|v| v.run).expect("not empty");
    Ok(status_of(newest))
}

/// Every run of `project` from the server at `source_url`, newest first.
pub fn history(
    state_dir: &std::path::Path,
    source_url: &str,
    project: &str,
) -> Result<Vec<HistoryRow>> {
    let mut runs = views(state_dir, source_url, project)?;
    runs.sort_by_key(|v| std::cmp::Reverse(v.run));
    Ok(runs
        .iter()
        .map(|v| {
            let s = status_of(v);
            HistoryRow {
                id: s.sync_id,
                status: s.status,
                started: s.started.chars().take(19).collect(),
                dest: s.destination,
                synced: s.subjects_synced,
                failed: s.subjects_failed,
            }
        })
        .collect())
}
