//! Uploads checked before and after.
//!
//! After: XNAT answers 200 to a file PUT even when it kept an older copy under the same name
//! (`{"duplicates":[...]}`), and an import can drop instances without failing. So after an
//! upload the server's file list is read back and compared with what was sent: every file
//! present, with the size sent and, where the catalog gives a digest, the MD5 sent.
//!
//! Before: a directory of DICOM from more than one study makes XNAT's import fail with
//! "multiple imaging sessions" and strands the data in the prearchive, and two files with the
//! same SOP Instance UID are stored under one name (XNAT names stored instances by their UIDs),
//! so one silently replaces the other. [`inspect_dicom_dir`] finds both before anything is sent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::member_name;
use crate::core::client::XnatClient;
use crate::core::{Error, Result};
use crate::services::download::staged::md5_of_reader;

/// One file as sent: its path inside the resource, size and MD5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentFile {
    /// Path relative to the resource, `/`-separated.
    pub rel: String,
    /// Bytes.
    pub size: u64,
    /// MD5, lowercase hex.
    pub md5: String,
}

/// One file as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFile {
    /// Path relative to the resource (from the catalog `URI`).
    pub rel: String,
    /// `Size`, when given.
    pub size: Option<u64>,
    /// `digest`, when given (lowercase).
    pub digest: Option<String>,
}

/// Size and MD5 of `files`, named relative to `base` (or by base name when `base` is `None`).
pub fn describe_local(base: Option<&Path>, files: &[PathBuf]) -> Result<Vec<SentFile>> {
    files
        .iter()
        .map(|f| {
            let ctx = |e| Error::io(format!("reading {}", f.display()), e);
            let file = std::fs::File::open(f).map_err(ctx)?;
            let size = file.metadata().map_err(ctx)?.len();
            let md5 =
                md5_of_reader(std::io::BufReader::with_capacity(1 << 20, file)).map_err(ctx)?;
            let rel = match base {
                Some(b) => member_name(b, f),
                None => f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            };
            Ok(SentFile { rel, size, md5 })
        })
        .collect()
}

/// The files of a resource (`{resource}/files`), as the server lists them.
pub async fn server_files(client: &XnatClient, resource: &str) -> Result<Vec<ServerFile>> {
    // The upload itself creates the resource: when it is missing, nothing arrived.
    let rows = match client.list_rows(&format!("{resource}/files"), &[]).await {
        Err(Error::NotFound { .. }) => Vec::new(),
        other => other?,
    };
    let text = |row: &serde_json::Map<String, serde_json::Value>, k: &str| match row.get(k) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(rows
        .iter()
        .filter_map(|r| {
            let uri = text(r, "URI").unwrap_or_default();
            let rel = match uri.find("/files/") {
                Some(i) => percent_encoding::percent_decode_str(&uri[i + 7..])
                    .decode_utf8_lossy()
                    .into_owned(),
                None => text(r, "Name")?,
            };
            Some(ServerFile {
                rel,
                size: text(r, "Size").and_then(|s| s.parse().ok()),
                digest: text(r, "digest").map(|d| d.to_ascii_lowercase()),
            })
        })
        .collect())
}

/// What is wrong with one sent file on the server, or `None` when it arrived as sent.
fn problem(sent: &SentFile, on_server: Option<&ServerFile>, duplicate: bool) -> Option<String> {
    let Some(s) = on_server else {
        return Some(format!("{}: not on the server after the upload", sent.rel));
    };
    let differs = s.size.is_some_and(|n| n != sent.size)
        || s.digest.as_deref().is_some_and(|d| d != sent.md5);
    match (differs, duplicate) {
        (false, _) => None,
        (true, true) => Some(format!(
            "{}: the server kept its existing, different copy (re-run with --overwrite to replace it)",
            sent.rel
        )),
        (true, false) => Some(format!(
            "{}: the server's copy differs from what was sent (size {} vs {}{})",
            sent.rel,
            s.size.map_or("?".into(), |n| n.to_string()),
            sent.size,
            match &s.digest {
                Some(d) => format!(", MD5 {d} vs {}", sent.md5),
                None => String::new(),
            }
        )),
    }
}

/// Compare what was sent with what the server lists: one message per file missing or
/// different. `duplicates` are the names the server said it already had (and kept); a
/// duplicate with the same content is fine. With `only_duplicates`, the other files are not
/// looked at (`--no-check`).
pub fn compare(
    sent: &[SentFile],
    server: &[ServerFile],
    duplicates: &[String],
    only_duplicates: bool,
) -> Vec<String> {
    let by_rel: BTreeMap<&str, &ServerFile> = server.iter().map(|s| (s.rel.as_str(), s)).collect();
    let dup = |rel: &str| {
        duplicates
            .iter()
            .any(|d| d == rel || rel.rsplit('/').next() == Some(d.as_str()))
    };
    sent.iter()
        .filter(|f| !only_duplicates || dup(&f.rel))
        .filter_map(|f| problem(f, by_rel.get(f.rel.as_str()).copied(), dup(&f.rel)))
        .collect()
}

/// One error message for the problems of an upload of `total` files (the first five named).
pub fn summarize(problems: &[String], total: usize) -> String {
    let mut msg = format!(
        "{} of {total} files did not arrive as sent: {}",
        problems.len(),
        problems
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    );
    if problems.len() > 5 {
        msg.push_str(&format!("; and {} more", problems.len() - 5));
    }
    msg
}

/// DICOM files the archived session `label` of `project` holds: the rows of its `DICOM`
/// resources in one listing across every scan (`…/scans/ALL/files`).
pub async fn archived_dicom_files(
    client: &XnatClient,
    project: &str,
    label: &str,
) -> Result<usize> {
    let e = crate::services::experiments::resolve(client, Some(project), label).await?;
    dicom_files_of(client, &e.id).await
}

/// The DICOM files of archived session `id` (accession ID), from one listing of every scan's
/// files.
pub async fn dicom_files_of(client: &XnatClient, id: &str) -> Result<usize> {
    let path = format!(
        "/data/experiments/{}/scans/ALL/files",
        crate::core::client::seg(id)?
    );
    let rows = match client.list_rows(&path, &[]).await {
        Ok(rows) => rows,
        Err(Error::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(rows
        .iter()
        .filter(|r| r.get("collection").and_then(|c| c.as_str()) == Some("DICOM"))
        .count())
}

/// Whether an archived session with `on_server` DICOM files holds the `sent` distinct
/// instances: exactly that many when the upload replaced the session, at least that many when
/// it added to it. XNAT may rewrite headers on import, so sizes and digests are not compared.
pub fn instances_problem(sent: usize, on_server: usize, replaced: bool) -> Option<String> {
    let short = if replaced {
        on_server != sent
    } else {
        on_server < sent
    };
    short.then(|| {
        format!(
            "the archived session holds {on_server} DICOM files after the upload of {sent} distinct instances{}",
            if replaced { " that replaced it" } else { "" }
        )
    })
}

/// What a DICOM directory holds that XNAT's import would get wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DicomDirCheck {
    /// Distinct StudyInstanceUIDs, each with its number of files (more than one is refused by
    /// XNAT's import as "multiple imaging sessions").
    pub studies: BTreeMap<String, usize>,
    /// Files sharing a SOP Instance UID with an earlier file: XNAT stores instances under names
    /// made from their UIDs, so only one of each group would remain.
    pub same_instance: Vec<(String, String)>,
    /// Distinct SOP Instance UIDs read.
    pub instances: usize,
    /// Files whose header could not be read (sent as they are; the server decides).
    pub unreadable: usize,
}

impl DicomDirCheck {
    /// Problems worth stopping for, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.studies.len() > 1 {
            let list: Vec<String> = self
                .studies
                .iter()
                .map(|(uid, n)| format!("{uid} ({n} files)"))
                .collect();
            out.push(format!(
                "the directory holds {} studies (StudyInstanceUID {}); XNAT refuses \"multiple imaging sessions\" in one upload and leaves the data in the prearchive: upload each study separately",
                self.studies.len(),
                list.join(", ")
            ));
        }
        for (first, again) in self.same_instance.iter().take(5) {
            out.push(format!(
                "{again} has the same SOP Instance UID as {first}; XNAT stores both under one name and keeps only one"
            ));
        }
        if self.same_instance.len() > 5 {
            out.push(format!(
                "… and {} more files sharing a SOP Instance UID",
                self.same_instance.len() - 5
            ));
        }
        out
    }
}

/// Read StudyInstanceUID and SOPInstanceUID of every file (headers only, in parallel).
pub fn inspect_dicom_dir(base: &Path, files: &[PathBuf]) -> DicomDirCheck {
    use crate::services::dicom::{study_and_instance, walk};
    let uids = walk::par_map(files, walk::default_threads(), |f| study_and_instance(f));
    let mut check = DicomDirCheck::default();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut instances = BTreeSet::new();
    for (f, uids) in files.iter().zip(uids) {
        let Some((study, instance)) = uids else {
            check.unreadable += 1;
            continue;
        };
        *check.studies.entry(study).or_default() += 1;
        let name = member_name(base, f);
        match seen.get(&instance) {
            Some(first) => check.same_instance.push((first.clone(), name)),
            None => {
                seen.insert(instance.clone(), name);
            }
        }
        instances.insert(instance);
    }
    check.instances = instances.len();
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(rel: &str, size: u64, md5: &str) -> SentFile {
        SentFile {
            rel: rel.into(),
            size,
            md5: md5.into(),
        }
    }

    fn server(rel: &str, size: Option<u64>, digest: Option<&str>) -> ServerFile {
        ServerFile {
            rel: rel.into(),
            size,
            digest: digest.map(str::to_string),
        }
    }

    #[test]
    fn missing_different_and_kept_duplicates_are_each_named() {
        let s = [
            sent("a.txt", 3, "aa"),
            sent("sub/b.txt", 4, "bb"),
            sent("c.txt", 5, "cc"),
            sent("d.txt", 6, "dd"),
            sent("e.txt", 7, "ee"),
        ];
        let on = [
            server("a.txt", Some(3), Some("aa")),
            server("sub/b.txt", Some(4), Some("xx")),
            server("d.txt", Some(9), None),
            server("e.txt", Some(7), Some("ee")),
        ];
        let got = compare(&s, &on, &["d.txt".into(), "e.txt".into()], false);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].starts_with("sub/b.txt: the server's copy differs"));
        assert!(got[1].starts_with("c.txt: not on the server"));
        assert!(got[2].starts_with("d.txt: the server kept") && got[2].contains("--overwrite"));
        // --no-check still catches a kept, different duplicate; an unchanged one is fine.
        let got = compare(&s, &on, &["d.txt".into(), "e.txt".into()], true);
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("d.txt: the server kept"));
    }

    #[test]
    fn an_archived_session_must_hold_every_instance() {
        assert_eq!(instances_problem(10, 10, true), None);
        assert!(instances_problem(10, 12, true).is_some());
        assert_eq!(instances_problem(10, 12, false), None);
        assert!(instances_problem(10, 9, false)
            .unwrap()
            .contains("holds 9 DICOM files after the upload of 10"));
    }

    #[test]
    fn two_studies_and_a_repeated_instance_are_flagged() {
        use crate::services::dicom::testing::{write_sample, Sample};
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for (name, study, sop) in [
            ("a.dcm", "1.2.3", "1.2.3.1"),
            ("b.dcm", "1.2.3", "1.2.3.2"),
            ("c.dcm", "1.2.4", "1.2.4.1"),
            ("copy_of_a.dcm", "1.2.3", "1.2.3.1"),
        ] {
            let p = dir.path().join(name);
            write_sample(
                &p,
                &Sample {
                    study_uid: study.into(),
                    sop_uid: sop.into(),
                    ..Sample::default()
                },
            );
            files.push(p);
        }
        std::fs::write(dir.path().join("junk.dcm"), b"nope").unwrap();
        files.push(dir.path().join("junk.dcm"));
        let c = inspect_dicom_dir(dir.path(), &files);
        assert_eq!(c.studies.len(), 2);
        assert_eq!(c.studies["1.2.3"], 3);
        assert_eq!(
            c.same_instance,
            vec![("a.dcm".to_string(), "copy_of_a.dcm".to_string())]
        );
        assert_eq!(c.instances, 3);
        assert_eq!(c.unreadable, 1);
        let p = c.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("2 studies"));
        assert!(p[1].contains("copy_of_a.dcm"));
    }
}
