//! Safe extraction of downloaded XNAT archives into the download layout.
//!
//! Archives come from a server, so every member name is treated as hostile: absolute paths,
//! `..`, drive prefixes and symbolic links are refused (zip-slip), hidden components are
//! skipped, and every file is written to a unique temporary sibling (created new, never an
//! existing path or a planted link: `services::download::staged`) and renamed when complete, so
//! nothing incomplete ever sits under a final name. XNAT's `scans/<id>-<type>/` folders are mapped onto
//! the layout's `scans/<id>/`.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::core::error::{Error, Result};
use crate::core::output::{Report, Row};
use crate::services::download::staged::{Expected, HashingWriter, Staged};

/// What extracting one archive did (or would do, in a dry run).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ExtractReport {
    /// Files written (or to be written), relative to the target, `/`-separated.
    pub files: Vec<String>,
    /// Member names refused as unsafe.
    pub unsafe_entries: Vec<String>,
    /// Members skipped on purpose (directories, hidden parts, the bare wrapper folder).
    pub skipped: usize,
    /// Skipped members that hold data (hidden files, files beside the wrapper folder): their
    /// content exists only in the archive, so it must not be deleted.
    pub skipped_files: Vec<String>,
}

/// Where a member goes, or why it does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberTarget {
    /// A relative path inside the target.
    Path(PathBuf),
    /// Skipped on purpose.
    Skip,
    /// Refused: it would escape the target.
    Unsafe,
}

/// Map a member name to its relative target: strip `strip` leading components, refuse escapes,
/// skip hidden parts, and turn `scans/<id>-<type>/resources/` into `scans/<id>/resources/`.
pub fn member_target(name: &str, strip: usize) -> MemberTarget {
    let unified = name.replace('\\', "/");
    if unified.starts_with('/') || unified.contains('\0') {
        return MemberTarget::Unsafe;
    }
    let mut parts = Vec::new();
    for c in Path::new(&unified).components() {
        match c {
            Component::Normal(s) => {
                let s = s.to_string_lossy().into_owned();
                if s.contains(':') {
                    return MemberTarget::Unsafe;
                }
                parts.push(s);
            }
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return MemberTarget::Unsafe
            }
        }
    }
    if parts.len() <= strip {
        return MemberTarget::Skip;
    }
    let mut parts: Vec<String> = parts.split_off(strip);
    if parts.iter().any(|p| p.starts_with('.')) {
        return MemberTarget::Skip;
    }
    if parts.len() > 3 && parts[0] == "scans" && parts[2] == "resources" {
        if let Some((id, _type)) = parts[1].split_once('-') {
            if !id.is_empty() {
                parts[1] = id.to_string();
            }
        }
    }
    MemberTarget::Path(parts.iter().collect())
}

fn is_symlink<R: Read>(entry: &zip::read::ZipFile<'_, R>) -> bool {
    entry.unix_mode().is_some_and(|m| m & 0o170000 == 0o120000)
}

/// Create `dir` under `target` and make sure it really is under it (no symlinked folder on the
/// way points elsewhere).
fn safe_dir(target: &Path, dir: &Path) -> Result<bool> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let root = target
        .canonicalize()
        .map_err(|e| Error::io(format!("resolving {}", target.display()), e))?;
    let real = dir
        .canonicalize()
        .map_err(|e| Error::io(format!("resolving {}", dir.display()), e))?;
    Ok(real.starts_with(root))
}

/// Extract the zip at `archive` into `target` (see the module docs). With `dry_run` nothing is
/// written, not even `target`; the report names the real destinations.
pub fn extract_zip(
    archive: &Path,
    target: &Path,
    strip: usize,
    dry_run: bool,
) -> Result<ExtractReport> {
    let file = std::fs::File::open(archive)
        .map_err(|e| Error::io(format!("opening {}", archive.display()), e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|source| Error::Zip {
        context: format!("download failed: invalid ZIP file {}", archive.display()),
        source,
    })?;
    let mut report = ExtractReport::default();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|source| Error::Zip {
            context: format!("download failed: {}", archive.display()),
            source,
        })?;
        let name = entry.name().to_string();
        if is_symlink(&entry) {
            report.unsafe_entries.push(name);
            continue;
        }
        let rel = match member_target(&name, strip) {
            MemberTarget::Unsafe => {
                report.unsafe_entries.push(name);
                continue;
            }
            MemberTarget::Skip => {
                report.skipped += 1;
                if !entry.is_dir() {
                    report.skipped_files.push(name);
                }
                continue;
            }
            MemberTarget::Path(_) if entry.is_dir() => {
                report.skipped += 1;
                continue;
            }
            MemberTarget::Path(p) => p,
        };
        let rel_text = rel.to_string_lossy().replace('\\', "/");
        if dry_run {
            report.files.push(rel_text);
            continue;
        }
        let dest = target.join(&rel);
        let dir = dest.parent().unwrap_or(target);
        if !safe_dir(target, dir)? {
            report.unsafe_entries.push(name);
            continue;
        }
        let (mut out, staged) = Staged::create(&dest)
            .map_err(|e| Error::io(format!("writing next to {}", dest.display()), e))?;
        let ctx = || format!("writing {}", staged.path().display());
        let mut hashing = HashingWriter::new(&mut out);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = entry.read(&mut buf).map_err(|e| {
                Error::Download(format!("{}: damaged member {name}: {e}", archive.display()))
            })?;
            if n == 0 {
                break;
            }
            hashing
                .write_all(&buf[..n])
                .map_err(|e| Error::io(ctx(), e))?;
        }
        let written = hashing.finish();
        out.flush().map_err(|e| Error::io(ctx(), e))?;
        drop(out);
        staged.commit(
            &written,
            &Expected {
                name: &rel_text,
                size: None,
                md5: None,
            },
        )?;
        report.files.push(rel_text);
    }
    Ok(report)
}

/// What `local extract` did with one archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveOutcome {
    /// The archive's path.
    pub archive: String,
    /// The folder its members go to (the archive's own folder).
    pub target: String,
    /// `success` or `failed`.
    pub status: &'static str,
    /// Files extracted (or, in a dry run, to be extracted).
    pub files: usize,
    /// Whether the archive was deleted afterwards.
    pub removed: bool,
    /// Why it failed.
    pub error: Option<String>,
    /// Where each member would go (dry run), for the preview lines.
    #[serde(skip)]
    pub planned: Vec<PathBuf>,
    /// Members holding data that were not extracted: the archive is kept for them.
    #[serde(skip)]
    pub kept_for: Vec<String>,
}

impl Row for ArchiveOutcome {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("archive", "Archive"),
        ("status", "Status"),
        ("files", "Files"),
        ("target", "Target"),
        ("error", "Error"),
    ];
    const ID: &'static str = "archive";
}

/// `local extract`'s result: one outcome per archive.
#[derive(Debug, Clone, Serialize)]
pub struct LocalExtract {
    /// The folder searched.
    pub input_dir: String,
    /// Nothing was written.
    pub dry_run: bool,
    /// Archives extracted.
    pub extracted: usize,
    /// Archives that failed.
    pub failed: usize,
    /// Every archive.
    pub archives: Vec<ArchiveOutcome>,
}

impl Report for LocalExtract {
    type Row = ArchiveOutcome;
    fn rows(&self) -> Vec<ArchiveOutcome> {
        self.archives.clone()
    }
}

/// Extract one downloaded archive into its own folder (first path component stripped),
/// refusing it whole when any member is unsafe; with `cleanup`, delete it afterwards unless a
/// member holding data was skipped. A bad archive is a failed outcome, not an error.
pub fn extract_in_place(zip: &Path, dry_run: bool, cleanup: bool) -> Result<ArchiveOutcome> {
    let target = zip.parent().map(PathBuf::from).unwrap_or_default();
    let name = zip.display().to_string();
    let mut outcome = ArchiveOutcome {
        archive: name.clone(),
        target: target.display().to_string(),
        status: "success",
        files: 0,
        removed: false,
        error: None,
        planned: Vec::new(),
        kept_for: Vec::new(),
    };
    // Look before writing: an archive with any unsafe member is refused as a whole.
    let checked = extract_zip(zip, &target, 1, true).and_then(|r| {
        if r.unsafe_entries.is_empty() {
            Ok(())
        } else {
            Err(Error::Download(format!(
                "refused {name}: unsafe entries {}",
                r.unsafe_entries.join(", ")
            )))
        }
    });
    match checked.and_then(|()| extract_zip(zip, &target, 1, dry_run)) {
        Ok(r) => {
            outcome.files = r.files.len();
            if dry_run {
                outcome.planned = r.files.iter().map(|f| target.join(f)).collect();
            } else if cleanup {
                outcome.kept_for = r.skipped_files;
                if outcome.kept_for.is_empty() {
                    std::fs::remove_file(zip)
                        .map_err(|e| Error::io(format!("removing {name}"), e))?;
                    outcome.removed = true;
                }
            }
        }
        Err(e) => {
            outcome.status = "failed";
            outcome.error = Some(e.to_string());
        }
    }
    Ok(outcome)
}

/// Every `*.zip` in `dir` (and below, with `recursive`), sorted.
pub fn find_zips(dir: &Path, recursive: bool) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| Error::io(format!("reading {}", d.display()), e))?;
        for e in entries.flatten() {
            let p = e.path();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() && recursive {
                stack.push(p);
            } else if kind.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("zip"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_targets() {
        let p = |s: &str| MemberTarget::Path(PathBuf::from(s));
        let cases = [
            (
                "MR1/scans/1-T1_MPRAGE/resources/DICOM/files/1.dcm",
                p("scans/1/resources/DICOM/files/1.dcm"),
            ),
            (
                "MR1/resources/NOTES/files/a/b.txt",
                p("resources/NOTES/files/a/b.txt"),
            ),
            ("MR1/../evil", MemberTarget::Unsafe),
            ("/etc/passwd", MemberTarget::Unsafe),
            ("MR1\\..\\..\\evil", MemberTarget::Unsafe),
            ("C:/x", MemberTarget::Unsafe),
            ("MR1/", MemberTarget::Skip),
            ("MR1/.DS_Store", MemberTarget::Skip),
        ];
        for (name, want) in cases {
            assert_eq!(member_target(name, 1), want, "{name}");
        }
    }

    fn zip_with(path: &Path, members: &[(&str, &[u8])]) {
        let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        for (name, data) in members {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap();
    }

    #[test]
    fn extraction_refuses_escapes_and_writes_only_inside() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        std::fs::create_dir(&target).unwrap();
        let z = dir.path().join("a.zip");
        zip_with(
            &z,
            &[
                ("S/../../escaped.txt", b"x"),
                ("S/scans/2-T2/resources/R/files/f", b"ok"),
            ],
        );
        let r = extract_zip(&z, &target, 1, false).unwrap();
        assert_eq!(r.unsafe_entries, vec!["S/../../escaped.txt"]);
        assert_eq!(r.files, vec!["scans/2/resources/R/files/f"]);
        assert!(!dir.path().join("escaped.txt").exists());
        assert_eq!(
            std::fs::read(target.join("scans/2/resources/R/files/f")).unwrap(),
            b"ok"
        );
    }

    #[test]
    fn dry_run_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let z = dir.path().join("a.zip");
        zip_with(&z, &[("S/resources/R/files/f", b"ok")]);
        let target = dir.path().join("never");
        let r = extract_zip(&z, &target, 1, true).unwrap();
        assert_eq!(r.files, vec!["resources/R/files/f"]);
        assert!(!target.exists());
    }
}
