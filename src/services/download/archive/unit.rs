//! Which of a download's missing files go by archive, grouped into archive requests (units),
//! and how an archive entry's name maps to a unit's catalog paths.

use std::collections::HashMap;

use crate::core::client::seg;
use crate::core::error::Result;
use crate::services::download::plan::PlannedFile;

/// One archive request: a resource of the session, or one resource label across several scans
/// (`…/scans/1,2,3/resources/{label}/files?format=zip`: XNAT takes comma lists of scans on file
/// paths, fidelity spec §7 and §9.3), so a session's archives go out in one round instead of one
/// request per scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The scans whose `label` resource the archive holds; empty for a session resource.
    pub scans: Vec<String>,
    /// Resource label.
    pub label: String,
    /// Indices (into the plan's files) of the covered files that are missing locally.
    pub missing: Vec<usize>,
    /// `(scan, catalog relpath)` → plan index, for every planned file the archive covers.
    pub by_rel: HashMap<(Option<String>, String), usize>,
}

impl Unit {
    /// `…/scans/{ids}/resources/{label}/files` or `…/resources/{label}/files`, for
    /// `?format=zip`.
    pub fn request_path(&self, session_id: &str) -> Result<String> {
        let mut p = format!("/data/experiments/{}", seg(session_id)?);
        if !self.scans.is_empty() {
            let ids = self
                .scans
                .iter()
                .map(|s| seg(s))
                .collect::<Result<Vec<_>>>()?;
            p.push_str(&format!("/scans/{}", ids.join(",")));
        }
        p.push_str(&format!("/resources/{}/files", seg(&self.label)?));
        Ok(p)
    }

    /// `scan 2 DICOM`, `scans 1,2,3 DICOM` or `resource NOTES`, for messages.
    pub fn describe(&self) -> String {
        match self.scans.as_slice() {
            [] => format!("resource {}", self.label),
            [s] => format!("scan {s} {}", self.label),
            many => format!("scans {} {}", many.join(","), self.label),
        }
    }

    /// The scan (of this unit) an archive folder name stands for: `<id>` exactly, else the
    /// longest `<id>-<type>` match (XNAT names scan folders `<id>-<type>`).
    fn scan_of_folder(&self, folder: &str) -> Option<&str> {
        if let Some(s) = self.scans.iter().find(|s| *s == folder) {
            return Some(s);
        }
        self.scans
            .iter()
            .filter(|s| {
                folder
                    .strip_prefix(s.as_str())
                    .is_some_and(|t| t.starts_with('-'))
            })
            .max_by_key(|s| s.len())
            .map(String::as_str)
    }

    /// Map an entry name onto this unit: after the session folder come
    /// `scans/<id>[-<type>]/resources/<label>/files/` (or `resources/<label>/files/`) and the
    /// relpath.
    pub fn entry_path(&self, name: &str) -> EntryPath {
        if name.starts_with('/') || name.contains('\\') {
            return EntryPath::Unsafe;
        }
        let parts: Vec<&str> = name.trim_end_matches('/').split('/').collect();
        if parts.iter().any(|p| {
            p.is_empty() || *p == "." || *p == ".." || p.contains(':') || p.chars().any(|c| c < ' ')
        }) {
            return EntryPath::Unsafe;
        }
        for k in 1..parts.len().saturating_sub(3) {
            if parts[k] != "resources" || parts[k + 1] != self.label || parts[k + 2] != "files" {
                continue;
            }
            let rel = parts[k + 3..].join("/");
            if self.scans.is_empty() {
                if k == 1 {
                    return EntryPath::Rel(None, rel);
                }
            } else if k >= 3 && parts[k - 2] == "scans" {
                if let Some(scan) = self.scan_of_folder(parts[k - 1]) {
                    return EntryPath::Rel(Some(scan.to_string()), rel);
                }
            }
        }
        EntryPath::Foreign
    }
}

/// Where a planned file sits: `(scan, label, relpath)` from its layout path.
pub fn split_layout_path(path: &str) -> Option<(Option<&str>, &str, &str)> {
    let (scan, rest) = match path.strip_prefix("scans/") {
        Some(rest) => {
            let (scan, rest) = rest.split_once('/')?;
            (Some(scan), rest)
        }
        None => (None, path),
    };
    let rest = rest.strip_prefix("resources/")?;
    let (label, rest) = rest.split_once('/')?;
    let rel = rest.strip_prefix("files/")?;
    Some((scan, label, rel))
}

/// Whether a resource with these counts is worth its archive: two or more files missing that
/// make up at least a quarter of its bytes (of its files, when the catalog gives no sizes).
/// Below that, fetching the few missing files costs fewer bytes than re-sending the present ones.
pub fn wants_archive(files: usize, bytes: u64, missing_files: usize, missing_bytes: u64) -> bool {
    if missing_files < 2 {
        return false;
    }
    if bytes > 0 {
        missing_bytes.saturating_mul(4) >= bytes
    } else {
        missing_files * 4 >= files
    }
}

/// Split the missing files into archive units and per-file fetches (plan order kept).
///
/// Each resource decides on its own ([`wants_archive`]); the scan resources that want their
/// archive are then grouped by label into at most about `streams` requests (a comma list of
/// scans each), so every archive starts at once instead of one round of requests per `workers`
/// scans, and a few streams still share the CPU work of parsing, hashing and writing.
pub fn choose(files: &[PlannedFile], missing: &[bool], streams: usize) -> (Vec<Unit>, Vec<usize>) {
    #[derive(Default)]
    struct Tally {
        files: usize,
        bytes: u64,
        missing: Vec<usize>,
        missing_bytes: u64,
        by_rel: HashMap<String, usize>,
    }
    let mut order: Vec<(Option<String>, String)> = Vec::new();
    let mut tallies: HashMap<(Option<String>, String), Tally> = HashMap::new();
    let mut loose = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let Some((scan, label, rel)) = split_layout_path(&f.path) else {
            if missing[i] {
                loose.push(i);
            }
            continue;
        };
        let key = (scan.map(str::to_string), label.to_string());
        let t = tallies.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Tally::default()
        });
        t.files += 1;
        t.bytes += f.size.unwrap_or(0);
        t.by_rel.insert(rel.to_string(), i);
        if missing[i] {
            t.missing.push(i);
            t.missing_bytes += f.size.unwrap_or(0);
        }
    }
    let mut units = Vec::new();
    // label → the scan resources of that label that want their archive, in plan order.
    let mut by_label: Vec<(String, Vec<(String, Tally)>)> = Vec::new();
    for key in order {
        let t = tallies.remove(&key).expect("tallied above");
        if !wants_archive(t.files, t.bytes, t.missing.len(), t.missing_bytes) {
            loose.extend(t.missing);
            continue;
        }
        match key.0 {
            // A scan ID with a comma cannot go into a comma list: an archive of its own.
            Some(scan) if !scan.contains(',') => {
                match by_label.iter_mut().find(|(l, _)| *l == key.1) {
                    Some((_, v)) => v.push((scan, t)),
                    None => by_label.push((key.1, vec![(scan, t)])),
                }
            }
            scan => units.push(Unit {
                by_rel: t
                    .by_rel
                    .into_iter()
                    .map(|(rel, i)| ((scan.clone(), rel), i))
                    .collect(),
                scans: scan.into_iter().collect(),
                label: key.1,
                missing: t.missing,
            }),
        }
    }
    let per_label = streams.max(1).div_ceil(by_label.len().max(1));
    for (label, resources) in by_label {
        // As many requests as streams allow, their sizes differing by at most one scan (10 scans
        // on 4 streams: 3, 3, 2, 2, not 3, 3, 3, 1): the slowest stream sets the end.
        let count = per_label.min(resources.len()).max(1);
        let (base, extra) = (resources.len() / count, resources.len() % count);
        let mut resources = resources.into_iter();
        for k in 0..count {
            let take = base + usize::from(k < extra);
            let mut unit = Unit {
                scans: Vec::new(),
                label: label.clone(),
                missing: Vec::new(),
                by_rel: HashMap::new(),
            };
            for (scan, t) in resources.by_ref().take(take) {
                unit.missing.extend(t.missing);
                unit.by_rel.extend(
                    t.by_rel
                        .into_iter()
                        .map(|(rel, i)| ((Some(scan.clone()), rel), i)),
                );
                unit.scans.push(scan);
            }
            unit.missing.sort_unstable();
            units.push(unit);
        }
    }
    loose.sort_unstable();
    (units, loose)
}

/// How an archive entry name relates to a unit.
#[derive(Debug, PartialEq, Eq)]
pub enum EntryPath {
    /// A file of one of the unit's resources: its scan (`None` for a session resource) and
    /// catalog relpath.
    Rel(Option<String>, String),
    /// Safe, but not a file of this unit.
    Foreign,
    /// Absolute, `..`, a drive or a backslash: never written anywhere.
    Unsafe,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(path: &str, size: u64) -> PlannedFile {
        PlannedFile {
            item: "1".into(),
            uri: "/x".into(),
            path: path.into(),
            size: Some(size),
            digest: None,
        }
    }

    fn unit(scans: &[&str], label: &str) -> Unit {
        Unit {
            scans: scans.iter().map(|s| s.to_string()).collect(),
            label: label.into(),
            missing: vec![],
            by_rel: HashMap::new(),
        }
    }

    #[test]
    fn entries_map_to_the_catalog_by_path() {
        let u = unit(&["2"], "DICOM");
        let rel = |scan: &str, r: &str| EntryPath::Rel(Some(scan.into()), r.into());
        assert_eq!(
            u.entry_path("MR1/scans/2-T1_MPRAGE/resources/DICOM/files/sub/a.dcm"),
            rel("2", "sub/a.dcm")
        );
        assert_eq!(
            u.entry_path("MR1/scans/2/resources/DICOM/files/a.dcm"),
            rel("2", "a.dcm")
        );
        assert_eq!(
            u.entry_path("MR1/scans/21-T1/resources/DICOM/files/a.dcm"),
            EntryPath::Foreign
        );
        assert_eq!(
            u.entry_path("MR1/scans/2-T1/resources/SNAP/files/a.png"),
            EntryPath::Foreign
        );
        for bad in [
            "/etc/passwd",
            "MR1/scans/2/resources/DICOM/files/../../x",
            "MR1\\scans",
            "C:/x",
        ] {
            assert_eq!(u.entry_path(bad), EntryPath::Unsafe, "{bad}");
        }
        assert_eq!(
            unit(&[], "NOTES").entry_path("MR1/resources/NOTES/files/n.txt"),
            EntryPath::Rel(None, "n.txt".into())
        );
        // Several scans in one archive: the exact ID wins, then the longest `<id>-` prefix.
        let u = unit(&["2", "2-b", "3"], "DICOM");
        assert_eq!(
            u.entry_path("MR1/scans/2-b/resources/DICOM/files/a"),
            rel("2-b", "a")
        );
        assert_eq!(
            u.entry_path("MR1/scans/2-b-T1/resources/DICOM/files/a"),
            rel("2-b", "a")
        );
        assert_eq!(
            u.entry_path("MR1/scans/3-T2/resources/DICOM/files/a"),
            rel("3", "a")
        );
        assert_eq!(
            u.entry_path("MR1/scans/4-T2/resources/DICOM/files/a"),
            EntryPath::Foreign
        );
        assert_eq!(
            u.request_path("E1").unwrap(),
            "/data/experiments/E1/scans/2,2-b,3/resources/DICOM/files"
        );
    }

    #[test]
    fn archive_when_many_files_are_missing_per_file_when_few() {
        assert!(wants_archive(100, 100, 100, 100));
        assert!(wants_archive(100, 100, 25, 25));
        assert!(!wants_archive(100, 100, 3, 3));
        assert!(!wants_archive(1, 10, 1, 10));
        assert!(wants_archive(8, 0, 2, 0));
        assert!(!wants_archive(100, 0, 2, 0));
    }

    #[test]
    fn choose_groups_by_resource_and_keeps_few_missing_per_file() {
        let mut files = Vec::new();
        for i in 0..10 {
            files.push(planned(
                &format!("scans/1/resources/DICOM/files/{i}.dcm"),
                10,
            ));
        }
        for i in 0..10 {
            files.push(planned(
                &format!("scans/2/resources/DICOM/files/{i}.dcm"),
                10,
            ));
        }
        files.push(planned("resources/NOTES/files/n.txt", 5));
        let mut missing = vec![true; 10];
        missing.extend([false; 8]);
        missing.extend([true; 2]);
        missing.push(true);
        let (units, loose) = choose(&files, &missing, 4);
        assert_eq!(units.len(), 1);
        assert_eq!(units[0].scans, ["1"]);
        assert_eq!(units[0].missing, (0..10).collect::<Vec<_>>());
        assert_eq!(loose, vec![18, 19, 20]);
        // Everything missing: the two scans' DICOM in one archive with 1 stream, in two with 4;
        // the session resource (one missing file) per file.
        let all = vec![true; files.len()];
        let (units, loose) = choose(&files, &all, 1);
        assert_eq!(units.len(), 1);
        assert_eq!(units[0].scans, ["1", "2"]);
        assert_eq!(units[0].missing, (0..20).collect::<Vec<_>>());
        assert_eq!(units[0].by_rel[&(Some("2".into()), "3.dcm".into())], 13);
        assert_eq!(loose, vec![20]);
        // Ten scans on four streams: 3, 3, 2, 2 scans per request.
        let ten: Vec<PlannedFile> = (1..=10)
            .flat_map(|s| {
                ["a", "b"].map(|f| planned(&format!("scans/{s}/resources/DICOM/files/{f}"), 10))
            })
            .collect();
        let (units, _) = choose(&ten, &[true; 20], 4);
        let sizes: Vec<usize> = units.iter().map(|u| u.scans.len()).collect();
        assert_eq!(sizes, [3, 3, 2, 2]);
        assert_eq!(units[3].scans, ["9", "10"]);
        let (units, _) = choose(&files, &all, 4);
        assert_eq!(units.len(), 2);
        assert_eq!(
            (units[0].scans.clone(), units[1].scans.clone()),
            (vec!["1".to_string()], vec!["2".to_string()])
        );
        assert_eq!(
            split_layout_path("resources/NOTES/files/a/b"),
            Some((None, "NOTES", "a/b"))
        );
    }
}
