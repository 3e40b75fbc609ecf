//! Selection manifests: what `session list` / `scan list` selected, written as JSON lines (one
//! session or scan per line, with its project and labels), and read back by `session download
//! --manifest` so a download acts on exactly that selection; and the one document such a
//! download prints for all its sessions.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::core::output::{Report, Row};
use crate::core::{Error, Result};
use crate::services::download::Preview;
use crate::services::transfer::{Operation, TransferItem, TransferRow, TransferSummary};

/// One line of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The project it was listed in.
    pub project: String,
    /// Session accession ID.
    pub session_id: String,
    /// Session label.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub session_label: String,
    /// Subject label.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subject_label: String,
    /// Scan ID, on scan manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_id: Option<String>,
    /// Scan type, on scan manifests.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scan_type: String,
}

/// Write `entries` to `path`, one JSON object per line (`-` is stdout's business, not ours).
pub fn write(path: &Path, entries: &[Entry]) -> Result<()> {
    let mut out = Vec::new();
    for e in entries {
        serde_json::to_writer(&mut out, e).map_err(|source| Error::Json {
            context: "a manifest line",
            source,
        })?;
        out.push(b'\n');
    }
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(&out))
        .map_err(|e| Error::Operation(format!("cannot write '{}': {e}", path.display())))
}

/// Read a manifest; blank lines are skipped, anything else that is not an entry is an error
/// naming its line.
pub fn read(path: &Path) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::InvalidInput(format!("cannot read '{}': {e}", path.display())))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let e: Entry = serde_json::from_str(line)
            .map_err(|e| Error::InvalidInput(format!("{} line {}: {e}", path.display(), i + 1)))?;
        if e.project.is_empty() || e.session_id.is_empty() {
            return Err(Error::InvalidInput(format!(
                "{} line {}: 'project' and 'session_id' must not be empty",
                path.display(),
                i + 1
            )));
        }
        out.push(e);
    }
    if out.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{} selects nothing",
            path.display()
        )));
    }
    Ok(out)
}

/// One session of a manifest and which of its scans (`None`: all of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Project.
    pub project: String,
    /// Session accession ID.
    pub session_id: String,
    /// The scans listed for it, or `None` when a line selects the whole session.
    pub scans: Option<Vec<String>>,
}

/// The sessions of a manifest in first-seen order, their scans merged.
pub fn selections(entries: &[Entry]) -> Vec<Selection> {
    let mut out: Vec<Selection> = Vec::new();
    for e in entries {
        let i = match out
            .iter()
            .position(|s| s.session_id == e.session_id && s.project == e.project)
        {
            Some(i) => i,
            None => {
                out.push(Selection {
                    project: e.project.clone(),
                    session_id: e.session_id.clone(),
                    scans: Some(Vec::new()),
                });
                out.len() - 1
            }
        };
        match (&mut out[i].scans, &e.scan_id) {
            (Some(scans), Some(id)) => {
                if !scans.contains(id) {
                    scans.push(id.clone());
                }
            }
            (scans, None) => *scans = None,
            (None, Some(_)) => {}
        }
    }
    out
}

/// The summaries of a manifest's sessions as one document: in JSON the array of the
/// per-session summaries (each the shape `session download -E` prints); in a table one row per
/// item, led by its session.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct Summaries(pub Vec<TransferSummary>);

impl Summaries {
    /// Record a session that failed before anything was transferred (it could not be resolved
    /// or listed), so the document names it too.
    pub fn push_failed(&mut self, s: &Selection, error: &Error, elapsed: std::time::Duration) {
        let item = TransferItem::failed(s.session_id.clone(), error.to_string());
        let mut summary = TransferSummary::new(Operation::Download, vec![item], elapsed);
        summary.session_id = Some(s.session_id.clone());
        summary.project = Some(s.project.clone());
        self.0.push(summary);
    }
}

/// One line of the table and TSV forms of [`Summaries`]: a session's [`TransferRow`] led by
/// the session.
#[derive(Debug, Clone, Serialize)]
pub struct SessionItemRow {
    /// The session's accession ID.
    pub session: String,
    /// The item's row, as `session download -E` prints it.
    #[serde(flatten)]
    pub item: TransferRow,
}

impl Row for SessionItemRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("session", "Session"),
        ("id", "Item"),
        ("status", "Status"),
        ("files", "Files"),
        ("transferred", "Transferred"),
        ("bytes", "Bytes"),
        ("error", "Error"),
    ];
    const ID: &'static str = "id";
}

impl Report for Summaries {
    type Row = SessionItemRow;
    fn rows(&self) -> Vec<SessionItemRow> {
        self.0
            .iter()
            .flat_map(|s| {
                let session = s.session_id.clone().unwrap_or_default();
                s.rows().into_iter().map(move |item| SessionItemRow {
                    session: session.clone(),
                    item,
                })
            })
            .collect()
    }
}

/// The `--dry-run` plans of a manifest's sessions as one document: in JSON the array of the
/// per-session previews (each the shape `session download -E --dry-run` prints); in a table
/// every planned file, session after session.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct Previews(pub Vec<Preview>);

impl Report for Previews {
    type Row = crate::services::download::PreviewFile;
    fn rows(&self) -> Vec<Self::Row> {
        self.0.iter().flat_map(|p| p.rows()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(session: &str, scan: Option<&str>) -> Entry {
        Entry {
            project: "P".into(),
            session_id: session.into(),
            session_label: String::new(),
            subject_label: String::new(),
            scan_id: scan.map(str::to_string),
            scan_type: String::new(),
        }
    }

    #[test]
    fn scans_of_a_session_merge_and_a_whole_session_line_wins() {
        let s = selections(&[
            entry("E1", Some("1")),
            entry("E2", None),
            entry("E1", Some("3")),
            entry("E1", Some("1")),
            entry("E2", Some("4")),
        ]);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].scans, Some(vec!["1".to_string(), "3".to_string()]));
        assert_eq!(s[1].scans, None);
    }
}
