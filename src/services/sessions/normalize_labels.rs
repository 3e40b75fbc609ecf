//! `session normalize-labels`: planning renames to the canonical label pattern (pure, tested
//! without a server) and applying one rename, polling the history until the server finishes it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use regex::Regex;
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use crate::core::client::{seg, XnatClient};
use crate::core::error::{Error, Result};
use crate::core::output::{Report, Row as OutputRow};
use crate::core::validation::{validate_project_id, validate_xnat_label};
use crate::services::experiments::{self, text, Row};

/// A planned rename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rename {
    /// Accession ID.
    pub id: String,
    /// Current label.
    pub from: String,
    /// New label.
    pub to: String,
}

/// A row left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// Current label (or ID when there is none).
    pub label: String,
    /// Why.
    pub reason: String,
}

/// The rename plan of a project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Renames in the order they must run.
    pub renames: Vec<Rename>,
    /// Rows left alone.
    pub skipped: Vec<Skip>,
}

const MODALITIES: &[(&str, &str)] = &[
    ("mr", "MR"),
    ("pet", "PET"),
    ("ct", "CT"),
    ("cr", "CR"),
    ("dx", "DX"),
    ("dx3d", "DX3D"),
    ("mg", "MG"),
    ("nm", "NM"),
    ("us", "US"),
    ("meg", "MEG"),
    ("eeg", "EEG"),
];

fn plan_modality(xsi: &str) -> Option<&'static str> {
    let lower = xsi.to_ascii_lowercase();
    let short = lower
        .strip_prefix("xnat:")
        .and_then(|s| s.strip_suffix("sessiondata"))
        .unwrap_or(&lower);
    MODALITIES
        .iter()
        .find(|(k, _)| *k == short)
        .map(|(_, v)| *v)
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .or_else(|| parse_datetime(s).map(|d| d.date()))
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(s, f).ok())
}

fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.naive_local())
    })
}

struct Candidate {
    id: String,
    label: String,
    subject: String,
    modality: &'static str,
    date: NaiveDate,
    time: Option<NaiveTime>,
    inserted: Option<NaiveDateTime>,
}

/// The experiment rows normalize-labels plans from. A document without a ResultSet is an error.
pub async fn plan_rows(client: &XnatClient, project: &str) -> Result<Vec<Row>> {
    let project = validate_project_id(project)?;
    let path = format!("/data/projects/{}/experiments", seg(&project)?);
    let doc = client
        .get_json(
            &path,
            &[(
                "columns",
                "ID,label,subject_label,xsiType,date,time,insert_date,insert_time",
            )],
        )
        .await?;
    let rows = doc
        .get("ResultSet")
        .and_then(|r| r.get("Result"))
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Error::Operation(format!(
                "the experiment listing of {project} has no ResultSet"
            ))
        })?;
    Ok(rows.iter().filter_map(|r| r.as_object().cloned()).collect())
}

/// Plan renames to `{subject}_{VISIT:02}_SE{SESSION:02}_{MOD}`.
pub fn plan(rows: &[Row], subject_pattern: Option<&Regex>) -> Plan {
    let mut skipped = Vec::new();
    let mut skip = |r: &Row, reason: &str| {
        let label = text(r, "label");
        skipped.push(Skip {
            label: if label.is_empty() {
                text(r, "ID")
            } else {
                label
            },
            reason: reason.into(),
        })
    };
    let mut cands = Vec::new();
    for r in rows {
        let subject = text(r, "subject_label");
        if subject.is_empty() {
            skip(r, "row missing subject_label");
            continue;
        }
        if subject_pattern.is_some_and(|re| !re.is_match(&subject)) {
            continue;
        }
        let Some(modality) = plan_modality(&text(r, "xsiType")) else {
            skip(r, "unknown modality from xsiType");
            continue;
        };
        let date_text = text(r, "date");
        if date_text.trim().is_empty() {
            skip(r, "missing date");
            continue;
        }
        let Some(date) = parse_date(&date_text) else {
            skip(r, "unparseable date");
            continue;
        };
        let insert_date = text(r, "insert_date");
        let inserted = parse_datetime(&insert_date).or_else(|| {
            parse_date(&insert_date)
                .map(|d| d.and_time(parse_time(&text(r, "insert_time")).unwrap_or(NaiveTime::MIN)))
        });
        let time = parse_time(&text(r, "time"))
            .or_else(|| parse_time(&text(r, "insert_time")))
            .or_else(|| parse_datetime(&insert_date).map(|d| d.time()));
        cands.push(Candidate {
            id: text(r, "ID"),
            label: text(r, "label"),
            subject,
            modality,
            date,
            time,
            inserted,
        });
    }

    let mut groups: BTreeMap<(String, &str), Vec<&Candidate>> = BTreeMap::new();
    for c in &cands {
        groups
            .entry((c.subject.clone(), c.modality))
            .or_default()
            .push(c);
    }
    let mut wanted: Vec<Rename> = Vec::new();
    for ((subject, modality), members) in groups {
        let mut by_date: BTreeMap<NaiveDate, Vec<&Candidate>> = BTreeMap::new();
        for c in members {
            by_date.entry(c.date).or_default().push(c);
        }
        for (visit, (_, mut same_day)) in by_date.into_iter().enumerate() {
            if same_day.len() > 1 && same_day.iter().any(|c| c.time.is_none()) {
                for c in same_day {
                    skipped.push(Skip {
                        label: c.label.clone(),
                        reason: "several sessions on one date and a time is missing".into(),
                    });
                }
                continue;
            }
            same_day.sort_by(|a, b| {
                (a.time, a.inserted, &a.label, &a.id).cmp(&(b.time, b.inserted, &b.label, &b.id))
            });
            for (n, c) in same_day.into_iter().enumerate() {
                let target = format!("{subject}_{:02}_SE{:02}_{modality}", visit + 1, n + 1);
                if target == c.label {
                    continue;
                }
                if validate_xnat_label(&target, "label").is_err() {
                    skipped.push(Skip {
                        label: c.label.clone(),
                        reason: format!("invalid target label: {target}"),
                    });
                    continue;
                }
                wanted.push(Rename {
                    id: c.id.clone(),
                    from: c.label.clone(),
                    to: target,
                });
            }
        }
    }
    let (renames, refused) = order_renames(rows, wanted);
    skipped.extend(refused);
    Plan { renames, skipped }
}

/// Order renames so a label is vacated before it is taken; refuse targets held by several
/// experiments, by experiments not being renamed, or by a rename cycle.
fn order_renames(rows: &[Row], wanted: Vec<Rename>) -> (Vec<Rename>, Vec<Skip>) {
    let mut holders: HashMap<String, usize> = HashMap::new();
    for r in rows {
        *holders.entry(text(r, "label")).or_default() += 1;
    }
    let by_from: HashMap<&str, usize> = wanted
        .iter()
        .enumerate()
        .map(|(i, r)| (r.from.as_str(), i))
        .collect();
    let mut target_count: HashMap<&str, usize> = HashMap::new();
    for r in &wanted {
        *target_count.entry(r.to.as_str()).or_default() += 1;
    }
    // Each rename waits on at most one other: the rename that vacates its target.
    let mut state = vec![0u8; wanted.len()]; // 0 new, 1 visiting, 2 ok, 3 refused
    let mut order = Vec::new();
    fn visit(
        i: usize,
        wanted: &[Rename],
        holders: &HashMap<String, usize>,
        by_from: &HashMap<&str, usize>,
        target_count: &HashMap<&str, usize>,
        state: &mut [u8],
        order: &mut Vec<usize>,
    ) -> bool {
        match state[i] {
            2 => return true,
            1 | 3 => {
                state[i] = 3;
                return false;
            }
            _ => {}
        }
        state[i] = 1;
        let r = &wanted[i];
        let held = holders.get(&r.to).copied().unwrap_or(0);
        let ok = if target_count.get(r.to.as_str()).copied().unwrap_or(0) > 1 || held > 1 {
            false
        } else if held == 1 {
            match by_from.get(r.to.as_str()) {
                Some(&j) => visit(j, wanted, holders, by_from, target_count, state, order),
                None => false,
            }
        } else {
            true
        };
        if ok && state[i] == 1 {
            state[i] = 2;
            order.push(i);
            true
        } else {
            state[i] = 3;
            false
        }
    }
    for i in 0..wanted.len() {
        visit(
            i,
            &wanted,
            &holders,
            &by_from,
            &target_count,
            &mut state,
            &mut order,
        );
    }
    let refused = wanted
        .iter()
        .zip(&state)
        .filter(|(_, s)| **s == 3)
        .map(|(r, _)| Skip {
            label: r.from.clone(),
            reason: format!("target label exists: {}", r.to),
        })
        .collect();
    let mut seen = HashSet::new();
    let renames = order
        .into_iter()
        .filter(|i| seen.insert(*i))
        .map(|i| wanted[i].clone())
        .collect();
    (renames, refused)
}

/// How long to wait between history polls during a rename.
#[derive(Debug, Clone, Copy)]
pub struct PollTimes {
    /// Between polls for the rename event to appear.
    pub event_every: Duration,
    /// Give up waiting for the event after this long.
    pub event_within: Duration,
    /// Between polls for the event to finish.
    pub status_every: Duration,
    /// Give up waiting for it to finish after this long.
    pub status_within: Duration,
}

impl PollTimes {
    /// The reference's timings, or `every` for both intervals when the test knob is set.
    pub fn from_env() -> Self {
        let knob = std::env::var(crate::core::env::XNATCTL_RENAME_POLL_MS)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_millis);
        PollTimes {
            event_every: knob.unwrap_or(Duration::from_secs(5)),
            event_within: Duration::from_secs(120),
            status_every: knob.unwrap_or(Duration::from_secs(30)),
            status_within: Duration::from_secs(4 * 3600),
        }
    }
}

async fn rename_events(client: &XnatClient, id: &str) -> Result<Vec<(u64, String)>> {
    let doc = client
        .get_json(&format!("{}/history", experiments::flat_path(id)?), &[])
        .await?;
    Ok(doc
        .get("events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| e.get("event_action").and_then(Value::as_str) == Some("Renamed"))
        .filter_map(|e| {
            let id = e.get("event_id").and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })?;
            let status = e
                .get("event_status")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            Some((id, status))
        })
        .collect())
}

/// Rename one experiment and wait until the server's rename event completes. The PUT may time
/// out or fail on the server side while the rename still goes ahead, so the history decides.
pub async fn apply_rename(client: &XnatClient, r: &Rename, poll: PollTimes) -> Result<()> {
    let before = rename_events(client, &r.id)
        .await?
        .iter()
        .map(|(id, _)| *id)
        .max();
    let put = client
        .request(Method::PUT, &experiments::flat_path(&r.id)?)
        .query("label", r.to.clone())
        .timeout(Duration::from_secs(60))
        .max_retries(0)
        .send()
        .await;
    let put_err = match put {
        Ok(_) => None,
        Err(
            e @ (Error::Network(_)
            | Error::Timeout(_)
            | Error::Unreachable { .. }
            | Error::RetryExhausted { .. }),
        ) => Some(e),
        Err(e @ Error::Http { status, .. }) if status >= 500 => Some(e),
        Err(e) => return Err(e),
    };
    let started = tokio::time::Instant::now();
    let event = loop {
        let newer = rename_events(client, &r.id)
            .await?
            .into_iter()
            .filter(|(id, _)| Some(*id) > before)
            .max_by_key(|(id, _)| *id);
        if let Some(e) = newer {
            break e.0;
        }
        if started.elapsed() >= poll.event_within {
            return Err(put_err.unwrap_or_else(|| {
                Error::Operation(format!("no rename event appeared for {}", r.id))
            }));
        }
        tokio::time::sleep(poll.event_every).await;
    };
    tracing::info!(
        "Rename {} -> {}: waiting on rename event {event}",
        r.id,
        r.to
    );
    let started = tokio::time::Instant::now();
    loop {
        let status = rename_events(client, &r.id)
            .await?
            .into_iter()
            .find(|(id, _)| *id == event)
            .map(|(_, s)| s.to_ascii_lowercase())
            .unwrap_or_default();
        if status == "complete" {
            return Ok(());
        }
        if status.starts_with("failed") {
            return Err(Error::Operation(format!(
                "rename of {} to {} failed on the server ({status})",
                r.id, r.to
            )));
        }
        if started.elapsed() >= poll.status_within {
            return Err(Error::Operation(format!(
                "rename of {} to {} did not finish in time",
                r.id, r.to
            )));
        }
        tokio::time::sleep(poll.status_every).await;
    }
}

/// A rename that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failed {
    /// Accession ID.
    pub id: String,
    /// Current label.
    pub from: String,
    /// The label it should have got.
    pub to: String,
    /// Why it failed.
    pub error: String,
}

/// What `session normalize-labels` did (or would do): its JSON document, and one row per rename
/// or skip in table and TSV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// True when nothing was renamed (`--dry-run`).
    pub dry_run: bool,
    /// The planned renames (failed ones included).
    pub renames: Vec<Rename>,
    /// Rows left alone.
    pub skipped: Vec<Skip>,
    /// Renames that failed.
    pub failed: Vec<Failed>,
}

impl Outcome {
    /// The outcome of a plan that was only shown.
    pub fn preview(plan: Plan) -> Self {
        Outcome {
            dry_run: true,
            renames: plan.renames,
            skipped: plan.skipped,
            failed: Vec::new(),
        }
    }
}

/// Apply a plan one rename at a time. A failed rename is recorded and the run goes on; an
/// expired session stops it (every later request would fail the same way).
pub async fn apply_plan(client: &XnatClient, plan: Plan, poll: PollTimes) -> Result<Outcome> {
    let mut failed = Vec::new();
    for r in &plan.renames {
        match apply_rename(client, r, poll).await {
            Ok(()) => {}
            Err(e @ Error::SessionExpired(_)) => return Err(e),
            Err(e) => failed.push(Failed {
                id: r.id.clone(),
                from: r.from.clone(),
                to: r.to.clone(),
                error: e.to_string(),
            }),
        }
    }
    Ok(Outcome {
        dry_run: false,
        renames: plan.renames,
        skipped: plan.skipped,
        failed,
    })
}

/// One line of the table and TSV forms of an [`Outcome`].
#[derive(Debug, Clone, Serialize)]
pub struct OutcomeRow {
    /// `rename`, `failed` or `skip`.
    pub action: &'static str,
    /// Accession ID (empty for a skip).
    pub id: String,
    /// Current label.
    pub label: String,
    /// New label (empty for a skip).
    pub target: String,
    /// Why a row is skipped, or why a rename failed.
    pub reason: String,
}

impl OutputRow for OutcomeRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("action", "Action"),
        ("id", "ID"),
        ("label", "Label"),
        ("target", "Target"),
        ("reason", "Reason"),
    ];
    const ID: &'static str = "id";
}

impl Report for Outcome {
    type Row = OutcomeRow;
    fn rows(&self) -> Vec<OutcomeRow> {
        let renames = self.renames.iter().map(|r| {
            let failure = self.failed.iter().find(|f| f.id == r.id && f.to == r.to);
            OutcomeRow {
                action: if failure.is_some() {
                    "failed"
                } else {
                    "rename"
                },
                id: r.id.clone(),
                label: r.from.clone(),
                target: r.to.clone(),
                reason: failure.map(|f| f.error.clone()).unwrap_or_default(),
            }
        });
        let skips = self.skipped.iter().map(|s| OutcomeRow {
            action: "skip",
            id: String::new(),
            label: s.label.clone(),
            target: String::new(),
            reason: s.reason.clone(),
        });
        renames.chain(skips).collect()
    }
}
