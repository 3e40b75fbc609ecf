//! The transfer configuration: the reference's YAML keys, loaded unchanged, with its defaults,
//! its validation and its filter semantics (which experiments, scans and resources are copied).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::core::{Error, Result};

/// `all`, `none`, `include` or `exclude`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncType {
    /// Everything.
    #[default]
    All,
    /// Nothing.
    None,
    /// Only the listed items.
    Include,
    /// Everything but the listed items.
    Exclude,
}

/// `{sync_type, items}`: one filter over names (scan types, resource labels).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NameFilter {
    /// How `items` is read.
    pub sync_type: SyncType,
    /// The names (matched case-insensitively).
    pub items: Vec<String>,
}

impl NameFilter {
    /// Whether `name` passes.
    pub fn allows(&self, name: &str) -> bool {
        let listed = || self.items.iter().any(|i| i.eq_ignore_ascii_case(name));
        match self.sync_type {
            SyncType::All => true,
            SyncType::None => false,
            SyncType::Include => listed(),
            SyncType::Exclude => !listed(),
        }
    }
}

/// One `filtering.imaging_sessions.xsi_types[]` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct XsiTypeFilter {
    /// Experiment type, e.g. `xnat:mrSessionData`.
    pub xsi_type: String,
    /// Filter on scan `type`.
    pub scan_types: NameFilter,
    /// Filter on scan resource labels (DICOM-format resources count as `DICOM`).
    pub scan_resources: NameFilter,
    /// Filter on session resource labels.
    pub resources: NameFilter,
}

/// `filtering.imaging_sessions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImagingSessions {
    /// Over `xsi_types[].xsi_type`.
    pub sync_type: SyncType,
    /// Per experiment type.
    pub xsi_types: Vec<XsiTypeFilter>,
}

/// `filtering`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filtering {
    /// The only supported section.
    #[serde(default)]
    pub imaging_sessions: ImagingSessions,
}

/// The whole file. Field order is the scaffold's key order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferConfig {
    /// Source project (overwritten by `-P`).
    pub source_project: String,
    /// Destination project (overwritten by `--dest-project`).
    pub dest_project: String,
    /// Accepted for compatibility; every run is incremental.
    #[serde(default = "yes")]
    pub sync_new_only: bool,
    /// Consecutive failed subjects before the run stops.
    #[serde(default = "five")]
    pub max_failures: u32,
    /// Attempts per scan import.
    #[serde(default = "three")]
    pub scan_retry_count: u32,
    /// Base of the import retry backoff, in seconds.
    #[serde(default = "five_f")]
    pub scan_retry_delay: f64,
    /// Compare the destination with the source after each experiment.
    #[serde(default = "yes")]
    pub verify_after_transfer: bool,
    /// Copy the experiment's own fields (custom variables, dates, notes).
    #[serde(default = "yes")]
    pub transfer_xml_metadata: bool,
    /// Scans of one experiment copied at once.
    #[serde(default = "four")]
    pub scan_workers: u32,
    /// Accepted for compatibility: imports go straight to the archive (see docs/transfer.md).
    #[serde(default = "five")]
    pub max_pending_archives: u32,
    /// Accepted for compatibility (seconds).
    #[serde(default = "archive_timeout")]
    pub archive_wait_timeout: f64,
    /// Accepted for compatibility (seconds).
    #[serde(default = "five_f")]
    pub archive_poll_interval: f64,
    /// Which experiments, scans and resources are copied.
    #[serde(default)]
    pub filtering: Filtering,
}

fn yes() -> bool {
    true
}
fn three() -> u32 {
    3
}
fn four() -> u32 {
    4
}
fn five() -> u32 {
    5
}
fn five_f() -> f64 {
    5.0
}
fn archive_timeout() -> f64 {
    10800.0
}

impl TransferConfig {
    /// The defaults for a pair of projects (what `transfer-init` writes).
    pub fn new(source_project: &str, dest_project: &str) -> Self {
        TransferConfig {
            source_project: source_project.to_string(),
            dest_project: dest_project.to_string(),
            sync_new_only: true,
            max_failures: 5,
            scan_retry_count: 3,
            scan_retry_delay: 5.0,
            verify_after_transfer: true,
            transfer_xml_metadata: true,
            scan_workers: 4,
            max_pending_archives: 5,
            archive_wait_timeout: 10800.0,
            archive_poll_interval: 5.0,
            filtering: Filtering::default(),
        }
    }

    /// The YAML scaffold, keys in the reference's order.
    pub fn scaffold(&self) -> Result<String> {
        serde_yaml_ng::to_string(self)
            .map_err(|e| Error::Config(format!("cannot write the transfer config: {e}")))
    }

    /// Parse and validate a config file's text. Unlike the reference, `source_project` and
    /// `dest_project` may be left out (the command line sets them anyway).
    pub fn parse(text: &str, source_project: &str, dest_project: &str) -> Result<Self> {
        let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text)
            .map_err(|e| Error::Config(format!("Invalid transfer config: {e}")))?;
        let Some(map) = doc.as_mapping_mut() else {
            return Err(Error::Config(
                "Invalid transfer config: the file is not a YAML mapping".into(),
            ));
        };
        map.insert("source_project".into(), source_project.into());
        map.insert("dest_project".into(), dest_project.into());
        reject_unsupported(map)?;
        let cfg: TransferConfig = serde_yaml_ng::from_value(doc)
            .map_err(|e| Error::Config(format!("Invalid transfer config: {e}")))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// [`Self::parse`] of a file.
    pub fn load(path: &Path, source_project: &str, dest_project: &str) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("Failed to load {}: {e}", path.display())))?;
        Self::parse(&text, source_project, dest_project)
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::Config(format!("Invalid transfer config: {m}")));
        if self.scan_workers < 1 {
            return bad("scan_workers must be at least 1");
        }
        if self.max_pending_archives < 1 {
            return bad("max_pending_archives must be at least 1");
        }
        if self.scan_retry_count < 1 {
            return bad("scan_retry_count must be at least 1");
        }
        if self.archive_wait_timeout.is_nan() || self.archive_wait_timeout < 0.0 {
            return bad("archive_wait_timeout must be 0 or more");
        }
        if self.archive_poll_interval.is_nan() || self.archive_poll_interval <= 0.0 {
            return bad("archive_poll_interval must be more than 0");
        }
        if self.scan_retry_delay.is_nan() || self.scan_retry_delay < 0.0 {
            return bad("scan_retry_delay must be 0 or more");
        }
        Ok(())
    }

    fn type_filter(&self, xsi_type: &str) -> Option<&XsiTypeFilter> {
        self.filtering
            .imaging_sessions
            .xsi_types
            .iter()
            .find(|t| t.xsi_type.eq_ignore_ascii_case(xsi_type))
    }

    /// Whether an experiment of this type is copied.
    pub fn includes_experiment(&self, xsi_type: &str) -> bool {
        let listed = self.type_filter(xsi_type).is_some();
        match self.filtering.imaging_sessions.sync_type {
            SyncType::All => true,
            SyncType::None => false,
            SyncType::Include => listed,
            SyncType::Exclude => !listed,
        }
    }

    /// The per-type filter that applies to an experiment's scans and resources: `None` means
    /// take everything (`sync_type: all`), and a type with no entry under `include`/`exclude`
    /// takes no scans and no resources (as the reference).
    fn section<'a>(
        &'a self,
        xsi_type: &str,
        pick: impl Fn(&'a XsiTypeFilter) -> &'a NameFilter,
    ) -> Option<Option<&'a NameFilter>> {
        match self.filtering.imaging_sessions.sync_type {
            SyncType::All => None,
            SyncType::None => Some(None),
            SyncType::Include | SyncType::Exclude => Some(self.type_filter(xsi_type).map(pick)),
        }
    }

    /// Whether a scan of this `type` in an experiment of `xsi_type` is copied.
    pub fn includes_scan(&self, xsi_type: &str, scan_type: &str) -> bool {
        match self.section(xsi_type, |t| &t.scan_types) {
            None => true,
            Some(None) => false,
            Some(Some(f)) => f.allows(scan_type),
        }
    }

    /// Whether a scan resource labelled `label` (DICOM-format ones as `DICOM`) is copied.
    pub fn includes_scan_resource(&self, xsi_type: &str, label: &str) -> bool {
        match self.section(xsi_type, |t| &t.scan_resources) {
            None => true,
            Some(None) => false,
            Some(Some(f)) => f.allows(label),
        }
    }

    /// Whether a session resource labelled `label` is copied.
    pub fn includes_session_resource(&self, xsi_type: &str, label: &str) -> bool {
        match self.section(xsi_type, |t| &t.resources) {
            None => true,
            Some(None) => false,
            Some(Some(f)) => f.allows(label),
        }
    }
}

/// The reference refuses filter sections it cannot honour; so do we, with its message.
fn reject_unsupported(map: &serde_yaml_ng::Mapping) -> Result<()> {
    let mut found = Vec::new();
    if let Some(f) = map.get("filtering").and_then(|f| f.as_mapping()) {
        for key in [
            "project_resources",
            "subject_resources",
            "subject_assessors",
        ] {
            if f.contains_key(key) {
                found.push(format!("filtering.{key}"));
            }
        }
        let types = f
            .get("imaging_sessions")
            .and_then(|s| s.get("xsi_types"))
            .and_then(|t| t.as_sequence());
        for t in types.into_iter().flatten() {
            if t.get("session_assessors").is_some() {
                found.push("filtering.imaging_sessions.xsi_types[].session_assessors".into());
                break;
            }
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "Invalid transfer config: unsupported filtering section(s): {}",
            found.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scaffold_round_trips_with_the_reference_keys_in_order() {
        let text = TransferConfig::new("A", "B").scaffold().unwrap();
        assert_eq!(
            text,
            "source_project: A\ndest_project: B\nsync_new_only: true\nmax_failures: 5\n\
             scan_retry_count: 3\nscan_retry_delay: 5.0\nverify_after_transfer: true\n\
             transfer_xml_metadata: true\nscan_workers: 4\nmax_pending_archives: 5\n\
             archive_wait_timeout: 10800.0\narchive_poll_interval: 5.0\nfiltering:\n  \
             imaging_sessions:\n    sync_type: all\n    xsi_types: []\n"
        );
        let back = TransferConfig::parse(&text, "X", "Y").unwrap();
        assert_eq!(back.source_project, "X");
        assert_eq!(back.max_failures, 5);
    }

    #[test]
    fn a_reference_file_with_filters_loads_and_filters() {
        let text = "source_project: A\ndest_project: B\nmax_failures: 2\nfiltering:\n  imaging_sessions:\n    sync_type: include\n    xsi_types:\n      - xsi_type: xnat:mrSessionData\n        scan_types: {sync_type: exclude, items: [localizer]}\n        scan_resources: {sync_type: include, items: [DICOM]}\n";
        let c = TransferConfig::parse(text, "A", "B").unwrap();
        assert_eq!(c.max_failures, 2);
        assert!(c.includes_experiment("xnat:mrSessionData"));
        assert!(!c.includes_experiment("xnat:ctSessionData"));
        assert!(!c.includes_scan("xnat:mrSessionData", "Localizer"));
        assert!(c.includes_scan("xnat:mrSessionData", "T1w"));
        assert!(c.includes_scan_resource("xnat:mrSessionData", "DICOM"));
        assert!(!c.includes_scan_resource("xnat:mrSessionData", "SNAPSHOTS"));
        // No `resources` entry: the default filter (all).
        assert!(c.includes_session_resource("xnat:mrSessionData", "NOTES"));
        assert!(!c.includes_scan("xnat:ctSessionData", "T1w"));
    }

    #[test]
    fn unsupported_sections_and_bad_values_are_refused() {
        let e = TransferConfig::parse("filtering:\n  subject_assessors: {}\n", "A", "B")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unsupported filtering section(s): filtering.subject_assessors"),
            "{e}"
        );
        let e = TransferConfig::parse("scan_workers: 0\n", "A", "B")
            .unwrap_err()
            .to_string();
        assert!(e.contains("scan_workers"), "{e}");
        let e = TransferConfig::parse("max_failures: many\n", "A", "B")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("Invalid transfer config:"), "{e}");
    }
}
