//! Checking a downloaded tree against the server's catalog: every planned file present with the
//! catalog MD5, nothing extra in the downloaded resource folders.
//!
//! Keys are paths relative to the session directory in the one download layout
//! (`scans/<id>/resources/<label>/files/<relpath>`), so XNAT's `<id>-<type>` archive folder names
//! never enter the comparison.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use crate::services::download::{md5_of_file, PlannedFile};

/// The outcome of a verification, as the reference's JSON names it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Verification {
    /// Files whose MD5 matched the catalog.
    pub matched: usize,
    /// Files whose MD5 differs.
    pub mismatched: Vec<String>,
    /// Catalog files absent locally.
    pub missing_local: Vec<String>,
    /// Local files in a downloaded resource folder that the catalog does not list.
    pub missing_remote: Vec<String>,
    /// Catalog files without a digest (present, but not checkable).
    pub unverifiable: Vec<String>,
    /// Catalog paths claimed by more than one file.
    pub collisions: Vec<String>,
}

impl Verification {
    /// No mismatches, nothing missing on either side, no collisions.
    pub fn passed(&self) -> bool {
        self.mismatched.is_empty()
            && self.missing_local.is_empty()
            && self.missing_remote.is_empty()
            && self.collisions.is_empty()
    }
}

fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            walk(base, &p, out);
        } else if crate::services::download::staged::is_temp_name(&e.file_name().to_string_lossy())
        {
            // Another run's file in progress, or a killed run's leftover: not a download.
        } else if let Ok(rel) = p.strip_prefix(base) {
            out.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// Compare the files under `session_dir` with the catalog entries in `files`, looking for
/// extra files only inside `resource_dirs` (relative to `session_dir`).
pub async fn verify_tree(
    session_dir: &Path,
    files: &[PlannedFile],
    resource_dirs: &[String],
    collisions: &[String],
) -> Verification {
    let mut v = Verification {
        collisions: collisions.to_vec(),
        ..Default::default()
    };
    let mut local = BTreeSet::new();
    for d in resource_dirs {
        walk(session_dir, &session_dir.join(d), &mut local);
    }
    for f in files {
        let present = local.remove(&f.path) || session_dir.join(&f.path).is_file();
        if !present {
            v.missing_local.push(f.path.clone());
            continue;
        }
        match &f.digest {
            None => v.unverifiable.push(f.path.clone()),
            Some(d) => match md5_of_file(&session_dir.join(&f.path)).await {
                Ok(m) if &m == d => v.matched += 1,
                _ => v.mismatched.push(f.path.clone()),
            },
        }
    }
    v.missing_remote = local.into_iter().collect();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(path: &str, digest: Option<&str>) -> PlannedFile {
        PlannedFile {
            item: "1".into(),
            uri: "/x".into(),
            path: path.into(),
            size: None,
            digest: digest.map(str::to_string),
        }
    }

    #[tokio::test]
    async fn reports_each_kind_of_difference() {
        let dir = tempfile::tempdir().unwrap();
        let res = dir.path().join("scans/1/resources/DICOM/files");
        std::fs::create_dir_all(&res).unwrap();
        std::fs::write(res.join("ok.dcm"), b"hello").unwrap();
        std::fs::write(res.join("bad.dcm"), b"hellO").unwrap();
        std::fs::write(res.join("extra.dcm"), b"x").unwrap();
        std::fs::write(res.join("nodigest.dcm"), b"x").unwrap();
        let hello = "5d41402abc4b2a76b9719d911017c592";
        let p = |n: &str| format!("scans/1/resources/DICOM/files/{n}");
        let files = vec![
            planned(&p("ok.dcm"), Some(hello)),
            planned(&p("bad.dcm"), Some(hello)),
            planned(&p("gone.dcm"), Some(hello)),
            planned(&p("nodigest.dcm"), None),
        ];
        let v = verify_tree(
            dir.path(),
            &files,
            &["scans/1/resources/DICOM/files".into()],
            &[],
        )
        .await;
        assert_eq!(v.matched, 1);
        assert_eq!(v.mismatched, vec![p("bad.dcm")]);
        assert_eq!(v.missing_local, vec![p("gone.dcm")]);
        assert_eq!(v.missing_remote, vec![p("extra.dcm")]);
        assert_eq!(v.unverifiable, vec![p("nodigest.dcm")]);
        assert!(!v.passed());
    }
}
