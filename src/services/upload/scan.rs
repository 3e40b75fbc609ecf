//! Finding the DICOM files of an upload: by suffix, or by the `DICM` magic for suffix-less files
//! (many scanners write files named only by their UID).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::FileSet;
use crate::core::{Error, Result};

const SUFFIXES: &[&str] = &["dcm", "ima", "img", "dicom"];

/// True for a DICOM-looking file: a known suffix, or `DICM` at byte 128. The reference checked
/// the magic only for files without any suffix, which missed files named by their UID
/// (`1.3.12.2.1107...`, whose "suffix" is the last number).
pub fn is_dicom_file(path: &Path) -> bool {
    let known = path.extension().is_some_and(|ext| {
        let ext = ext.to_string_lossy().to_ascii_lowercase();
        SUFFIXES.contains(&ext.as_str())
    });
    known || has_dicm_magic(path)
}

fn has_dicm_magic(path: &Path) -> bool {
    let mut buf = [0u8; 132];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n == 132 && &buf[128..132] == b"DICM"
}

/// Every DICOM file below `dir` (hidden names skipped, symlinks followed only to existing
/// files), sorted by path.
pub fn find_dicom_files(dir: &Path) -> Result<FileSet> {
    let mut set = FileSet::default();
    walk(dir, &mut |p, meta| {
        if is_dicom_file(p) {
            set.files.push(p.to_path_buf());
            set.bytes += meta.len();
        }
    })?;
    set.files.sort();
    Ok(set)
}

/// Visit every regular, non-hidden file below `dir`.
pub(crate) fn walk(dir: &Path, visit: &mut dyn FnMut(&Path, &std::fs::Metadata)) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("failed to scan directory {}", dir.display()), e))?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        let hidden = p
            .file_name()
            .map(|n| n.to_string_lossy().starts_with('.'))
            .unwrap_or(true);
        if hidden {
            continue;
        }
        // metadata() follows symlinks: a dangling link fails and is skipped.
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            walk(&p, visit)?;
        } else if meta.is_file() {
            visit(&p, &meta);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_or_magic_selects_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("sub/.hidden")).unwrap();
        std::fs::write(d.join("a.DCM"), b"x").unwrap();
        let mut magic = vec![0u8; 128];
        magic.extend_from_slice(b"DICMrest");
        std::fs::write(d.join("sub/1.2.3"), &magic).unwrap();
        std::fs::write(d.join("sub/noext"), b"plain text").unwrap();
        std::fs::write(d.join("notes.txt"), b"x").unwrap();
        std::fs::write(d.join(".x.dcm"), b"x").unwrap();
        std::fs::write(d.join("sub/.hidden/b.dcm"), b"x").unwrap();
        let set = find_dicom_files(d).unwrap();
        let names: Vec<String> = set
            .files
            .iter()
            .map(|p| super::super::member_name(d, p))
            .collect();
        assert_eq!(names, ["a.DCM", "sub/1.2.3"]);
        assert_eq!(set.bytes, 1 + 136);
    }
}
