//! The one summary of a download or upload run (the reference's `TransferSummary` JSON object)
//! with one status vocabulary: a run is `success`, `partial` or `failed`; an item is `success`,
//! `failed` or `skipped`. A run with nothing to transfer is a `success` with 0 files.
//!
//! Its JSON is the whole document; its table and TSV are one row per item with what that item
//! moved, and `-q` prints the item ids.

use std::time::Duration;

use serde::Serialize;

use crate::core::output::{Report, Row};
use crate::services::verify::Verification;

/// Which way the data went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// From the server to local files.
    Download,
    /// From local files to the server.
    Upload,
}

/// What happened to one item (a scan, a resource, an upload batch or file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    /// Transferred (or already up to date).
    Success,
    /// Not (completely) transferred; `error` says why (`cancelled` when the run was stopped).
    Failed,
    /// Nothing to transfer.
    Skipped,
}

/// The overall status of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Every item succeeded or was skipped (also a run with no items).
    Success,
    /// Some items failed, some succeeded.
    Partial,
    /// Every item failed.
    Failed,
}

impl RunStatus {
    /// `success` when no item failed, `failed` when every item failed, else `partial`.
    pub fn of(items: &[TransferItem]) -> Self {
        let failed = items
            .iter()
            .filter(|i| i.status == ItemStatus::Failed)
            .count();
        if failed == 0 {
            RunStatus::Success
        } else if failed == items.len() {
            RunStatus::Failed
        } else {
            RunStatus::Partial
        }
    }
}

/// One item of a [`TransferSummary`]. Its JSON is `{id, status, error}`; the counts show in the
/// table and TSV forms only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferItem {
    /// Scan ID, `resource:<label>`, batch name, file name or handler name.
    pub id: String,
    /// What happened.
    pub status: ItemStatus,
    /// Why it failed.
    pub error: Option<String>,
    /// Files of this item now in place.
    #[serde(skip)]
    pub files: Option<usize>,
    /// Files this run moved (a resumed download moves fewer than `files`).
    #[serde(skip)]
    pub transferred: Option<usize>,
    /// Bytes of this item's files.
    #[serde(skip)]
    pub bytes: Option<u64>,
}

impl TransferItem {
    /// A successful item.
    pub fn success(id: impl Into<String>) -> Self {
        TransferItem {
            id: id.into(),
            status: ItemStatus::Success,
            error: None,
            files: None,
            transferred: None,
            bytes: None,
        }
    }

    /// A failed item and why.
    pub fn failed(id: impl Into<String>, error: impl Into<String>) -> Self {
        TransferItem {
            status: ItemStatus::Failed,
            error: Some(error.into()),
            ..TransferItem::success(id)
        }
    }

    /// With counts for the table form.
    pub fn with_counts(mut self, files: usize, transferred: usize, bytes: u64) -> Self {
        self.files = Some(files);
        self.transferred = Some(transferred);
        self.bytes = Some(bytes);
        self
    }
}

/// The reference's `TransferSummary` JSON object, with counts that mean what they say.
#[derive(Debug, Clone, Serialize)]
pub struct TransferSummary {
    /// `download` or `upload`.
    pub operation: Operation,
    /// The session (accession ID for downloads, label for uploads; null when there is none).
    pub session_id: Option<String>,
    /// The project.
    pub project: Option<String>,
    /// The folder files were written under (downloads).
    pub output_dir: Option<String>,
    /// The input path as given (uploads).
    pub source: Option<String>,
    /// Distinct scans that had files to transfer (downloads).
    pub scans: Option<usize>,
    /// Files now in place: downloaded or already up to date, or uploaded.
    pub files: Option<usize>,
    /// Bytes transferred in this run.
    pub bytes: Option<u64>,
    /// Wall-clock seconds (3 decimals).
    pub duration_seconds: f64,
    /// The run's status, from its items.
    pub status: RunStatus,
    /// One entry per item.
    pub items: Vec<TransferItem>,
    /// The `--verify` report of a download, when asked for.
    pub verification: Option<Verification>,
    /// Archive members refused as unsafe.
    pub skipped_unsafe_entries: usize,
}

impl TransferSummary {
    /// A summary of `operation` whose status follows from `items`; the rest is filled in by the
    /// caller.
    pub fn new(operation: Operation, items: Vec<TransferItem>, elapsed: Duration) -> Self {
        TransferSummary {
            operation,
            session_id: None,
            project: None,
            output_dir: None,
            source: None,
            scans: None,
            files: None,
            bytes: None,
            duration_seconds: (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            status: RunStatus::of(&items),
            items,
            verification: None,
            skipped_unsafe_entries: 0,
        }
    }

    /// The items that failed.
    pub fn failed(&self) -> impl Iterator<Item = &TransferItem> {
        self.items.iter().filter(|i| i.status == ItemStatus::Failed)
    }
}

/// One line of the table and TSV forms of a [`TransferSummary`].
#[derive(Debug, Clone, Serialize)]
pub struct TransferRow {
    /// The item.
    pub id: String,
    /// What happened to it.
    pub status: ItemStatus,
    /// Files in place.
    pub files: Option<usize>,
    /// Files moved by this run.
    pub transferred: Option<usize>,
    /// Bytes.
    pub bytes: Option<u64>,
    /// Why it failed.
    pub error: String,
}

impl Row for TransferRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "Item"),
        ("status", "Status"),
        ("files", "Files"),
        ("transferred", "Transferred"),
        ("bytes", "Bytes"),
        ("error", "Error"),
    ];
    const ID: &'static str = "id";
}

impl Report for TransferSummary {
    type Row = TransferRow;
    fn rows(&self) -> Vec<TransferRow> {
        self.items
            .iter()
            .map(|i| TransferRow {
                id: i.id.clone(),
                status: i.status,
                files: i.files,
                transferred: i.transferred,
                bytes: i.bytes,
                error: i.error.clone().unwrap_or_default(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_run_is_a_success_and_failures_make_it_partial_or_failed() {
        let ok = TransferItem::success("1");
        let bad = TransferItem::failed("2", "boom");
        let skip = TransferItem {
            status: ItemStatus::Skipped,
            ..TransferItem::success("3")
        };
        assert_eq!(RunStatus::of(&[]), RunStatus::Success);
        assert_eq!(
            RunStatus::of(&[ok.clone(), skip.clone()]),
            RunStatus::Success
        );
        assert_eq!(RunStatus::of(&[ok, bad.clone()]), RunStatus::Partial);
        assert_eq!(RunStatus::of(&[bad.clone(), bad]), RunStatus::Failed);
        assert_eq!(RunStatus::of(&[skip]), RunStatus::Success);
    }

    #[test]
    fn the_json_keeps_the_reference_keys_in_order_and_items_without_counts() {
        let items = vec![TransferItem::success("1").with_counts(2, 1, 10)];
        let mut s = TransferSummary::new(Operation::Download, items, Duration::from_millis(1234));
        s.files = Some(2);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"operation":"download","session_id":null,"project":null,"output_dir":null,"source":null,"scans":null,"files":2,"bytes":null,"duration_seconds":1.234,"status":"success","items":[{"id":"1","status":"success","error":null}],"verification":null,"skipped_unsafe_entries":0}"#
        );
    }
}
