//! What one experiment's copy consists of, decided from the source's listing and the config
//! without touching a server: which scans go through the import service (those with DICOM),
//! which files are copied one by one, the fingerprint that tells a later run whether anything
//! changed, and how the destination's listing is checked against the source.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::config::TransferConfig;
use crate::services::download::PlannedFile;

/// A scan of the source experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceScan {
    /// Scan ID.
    pub id: String,
    /// Scan `type`.
    pub scan_type: String,
    /// Scan xsi type (`xnat:mrScanData`).
    pub xsi_type: String,
}

/// One file of a resource, as the layout path of the download plan splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<'a> {
    /// Scan ID, `None` for a session resource.
    pub scan: Option<&'a str>,
    /// Resource label.
    pub label: &'a str,
    /// Path inside the resource.
    pub rel: &'a str,
}

/// Split `scans/<id>/resources/<label>/files/<rel>` or `resources/<label>/files/<rel>`.
pub fn locate(path: &str) -> Option<Located<'_>> {
    let (scan, rest) = match path.strip_prefix("scans/") {
        Some(r) => {
            let (id, rest) = r.split_once('/')?;
            (Some(id), rest)
        }
        None => (None, path),
    };
    let rest = rest.strip_prefix("resources/")?;
    let (label, rel) = rest.split_once("/files/")?;
    Some(Located { scan, label, rel })
}

/// Whether a resource label holds the scan's DICOM (those go through the import service).
pub fn is_dicom(label: &str) -> bool {
    label.eq_ignore_ascii_case("DICOM")
}

/// One experiment's copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExperimentPlan {
    /// Scans whose DICOM is imported, with their DICOM file count.
    pub dicom_scans: Vec<(String, usize)>,
    /// Scans without DICOM that still have files to copy: their shells are created first.
    pub shell_scans: Vec<SourceScan>,
    /// Non-DICOM files, copied one by one.
    pub files: Vec<PlannedFile>,
    /// Every included file (for the fingerprint and the verification).
    pub included: Vec<PlannedFile>,
    /// Digest of the included files' paths, sizes and MD5s, plus the experiment's type.
    pub fingerprint: String,
}

impl ExperimentPlan {
    /// Bytes of the included files.
    pub fn bytes(&self) -> u64 {
        self.included.iter().filter_map(|f| f.size).sum()
    }
}

/// Apply the config's scan and resource filters to the source listing.
pub fn plan_experiment(
    cfg: &TransferConfig,
    xsi_type: &str,
    scans: &[SourceScan],
    listing: &[PlannedFile],
) -> ExperimentPlan {
    let kept: BTreeMap<&str, &SourceScan> = scans
        .iter()
        .filter(|s| cfg.includes_scan(xsi_type, &s.scan_type))
        .map(|s| (s.id.as_str(), s))
        .collect();
    let mut plan = ExperimentPlan::default();
    let mut dicom: BTreeMap<String, usize> = BTreeMap::new();
    let mut other_scans: BTreeSet<String> = BTreeSet::new();
    for f in listing {
        let Some(at) = locate(&f.path) else { continue };
        let keep = match at.scan {
            Some(id) => {
                kept.contains_key(id)
                    && cfg.includes_scan_resource(
                        xsi_type,
                        if is_dicom(at.label) {
                            "DICOM"
                        } else {
                            at.label
                        },
                    )
            }
            None => cfg.includes_session_resource(xsi_type, at.label),
        };
        if !keep {
            continue;
        }
        plan.included.push(f.clone());
        match at.scan {
            Some(id) if is_dicom(at.label) => *dicom.entry(id.to_string()).or_default() += 1,
            Some(id) => {
                other_scans.insert(id.to_string());
                plan.files.push(f.clone());
            }
            None => plan.files.push(f.clone()),
        }
    }
    plan.shell_scans = other_scans
        .iter()
        .filter(|id| !dicom.contains_key(*id))
        .filter_map(|id| kept.get(id.as_str()).map(|s| (*s).clone()))
        .collect();
    plan.dicom_scans = dicom.into_iter().collect();
    plan.fingerprint = fingerprint(xsi_type, &plan.included);
    plan
}

/// MD5 over the sorted `path size digest` lines and the type: equal fingerprints mean the
/// source has the same files with the same content as when it was copied.
pub fn fingerprint(xsi_type: &str, files: &[PlannedFile]) -> String {
    use md5::{Digest, Md5};
    let mut lines: Vec<String> = files
        .iter()
        .map(|f| {
            format!(
                "{}\t{}\t{}",
                f.path,
                f.size.map(|s| s.to_string()).unwrap_or_default(),
                f.digest.as_deref().unwrap_or("")
            )
        })
        .collect();
    lines.sort();
    let mut h = Md5::new();
    h.update(xsi_type.as_bytes());
    for l in lines {
        h.update(b"\n");
        h.update(l.as_bytes());
    }
    hex::encode(h.finalize())
}

/// A resource's directory key: `scans/<id>/resources/<label>` or `resources/<label>`.
fn resource_key(path: &str) -> Option<String> {
    let at = locate(path)?;
    Some(match at.scan {
        Some(id) => format!("scans/{id}/resources/{}", at.label),
        None => format!("resources/{}", at.label),
    })
}

/// Compare the destination's listing with what was copied. Every copied resource must have at
/// least as many files on the destination; non-DICOM files must be there with the same MD5
/// (DICOM files get new names from the import service, and a site anonymisation script may
/// rewrite their headers, so for them the count is what can be compared). Returns the
/// differences, empty when the copy is complete.
pub fn verify(plan: &ExperimentPlan, dest: &[PlannedFile]) -> Vec<String> {
    let mut want: BTreeMap<String, Vec<&PlannedFile>> = BTreeMap::new();
    for f in &plan.included {
        if let Some(k) = resource_key(&f.path) {
            want.entry(k).or_default().push(f);
        }
    }
    let mut have: BTreeMap<String, Vec<&PlannedFile>> = BTreeMap::new();
    for f in dest {
        if let Some(k) = resource_key(&f.path) {
            have.entry(k).or_default().push(f);
        }
    }
    let mut problems = Vec::new();
    for (key, files) in &want {
        let there = have.get(key).map(Vec::as_slice).unwrap_or(&[]);
        if there.len() < files.len() {
            problems.push(format!(
                "{key}: {} of {} files on the destination",
                there.len(),
                files.len()
            ));
            continue;
        }
        let dicom = locate(&files[0].path).is_some_and(|a| is_dicom(a.label));
        if dicom {
            continue;
        }
        let by_path: BTreeMap<&str, Option<&str>> = there
            .iter()
            .map(|f| (f.path.as_str(), f.digest.as_deref()))
            .collect();
        let bad: Vec<&str> = files
            .iter()
            .filter(
                |f| match (by_path.get(f.path.as_str()), f.digest.as_deref()) {
                    (None, _) => true,
                    (Some(Some(d)), Some(s)) => !d.eq_ignore_ascii_case(s),
                    _ => false,
                },
            )
            .map(|f| f.path.as_str())
            .collect();
        if !bad.is_empty() {
            problems.push(format!(
                "{key}: {} file(s) missing or different on the destination (first: {})",
                bad.len(),
                bad[0]
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(path: &str, digest: &str) -> PlannedFile {
        PlannedFile {
            item: String::new(),
            uri: format!("/data/x/{path}"),
            path: path.into(),
            size: Some(3),
            digest: Some(digest.into()),
        }
    }

    fn scan(id: &str, t: &str) -> SourceScan {
        SourceScan {
            id: id.into(),
            scan_type: t.into(),
            xsi_type: "xnat:mrScanData".into(),
        }
    }

    fn listing() -> Vec<PlannedFile> {
        vec![
            f("scans/1/resources/DICOM/files/a.dcm", "a"),
            f("scans/1/resources/DICOM/files/b.dcm", "b"),
            f("scans/1/resources/SNAPSHOTS/files/t.gif", "t"),
            f("scans/2/resources/NIFTI/files/x.nii", "x"),
            f("scans/3/resources/DICOM/files/c.dcm", "c"),
            f("resources/NOTES/files/n.txt", "n"),
        ]
    }

    #[test]
    fn dicom_scans_are_imported_the_rest_copied_file_by_file() {
        let cfg = TransferConfig::new("A", "B");
        let scans = [scan("1", "T1w"), scan("2", "DWI"), scan("3", "loc")];
        let p = plan_experiment(&cfg, "xnat:mrSessionData", &scans, &listing());
        assert_eq!(p.dicom_scans, vec![("1".into(), 2), ("3".into(), 1)]);
        assert_eq!(p.shell_scans, vec![scan("2", "DWI")]);
        let copied: Vec<&str> = p.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            copied,
            [
                "scans/1/resources/SNAPSHOTS/files/t.gif",
                "scans/2/resources/NIFTI/files/x.nii",
                "resources/NOTES/files/n.txt"
            ]
        );
        assert_eq!(p.included.len(), 6);
    }

    #[test]
    fn filters_drop_scans_and_resources_and_change_the_fingerprint() {
        let text = "filtering:\n  imaging_sessions:\n    sync_type: include\n    xsi_types:\n      - xsi_type: xnat:mrSessionData\n        scan_types: {sync_type: exclude, items: [loc]}\n        scan_resources: {sync_type: exclude, items: [SNAPSHOTS]}\n        resources: {sync_type: none}\n";
        let cfg = TransferConfig::parse(text, "A", "B").unwrap();
        let scans = [scan("1", "T1w"), scan("2", "DWI"), scan("3", "loc")];
        let all = plan_experiment(
            &TransferConfig::new("A", "B"),
            "xnat:mrSessionData",
            &scans,
            &listing(),
        );
        let p = plan_experiment(&cfg, "xnat:mrSessionData", &scans, &listing());
        assert_eq!(p.dicom_scans, vec![("1".into(), 2)]);
        assert_eq!(p.files.len(), 1);
        assert_ne!(p.fingerprint, all.fingerprint);
    }

    #[test]
    fn the_fingerprint_ignores_order_but_not_content() {
        let mut l = listing();
        let a = fingerprint("t", &l);
        l.reverse();
        assert_eq!(a, fingerprint("t", &l));
        l[0].digest = Some("changed".into());
        assert_ne!(a, fingerprint("t", &l));
    }

    #[test]
    fn verification_counts_dicom_and_compares_other_digests() {
        let cfg = TransferConfig::new("A", "B");
        let scans = [scan("1", "T1w"), scan("2", "DWI"), scan("3", "loc")];
        let p = plan_experiment(&cfg, "xnat:mrSessionData", &scans, &listing());
        let mut dest = vec![
            f("scans/1/resources/DICOM/files/1.2.3.dcm", "other"),
            f("scans/1/resources/DICOM/files/1.2.4.dcm", "other"),
            f("scans/1/resources/SNAPSHOTS/files/t.gif", "t"),
            f("scans/2/resources/NIFTI/files/x.nii", "x"),
            f("scans/3/resources/DICOM/files/9.dcm", "c"),
            f("resources/NOTES/files/n.txt", "n"),
        ];
        assert!(verify(&p, &dest).is_empty());
        dest[3].digest = Some("bad".into());
        dest.remove(4);
        assert_eq!(
            verify(&p, &dest),
            vec![
                "scans/2/resources/NIFTI: 1 file(s) missing or different on the destination (first: scans/2/resources/NIFTI/files/x.nii)".to_string(),
                "scans/3/resources/DICOM: 0 of 1 files on the destination".into(),
            ]
        );
    }
}
