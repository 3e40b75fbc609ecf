//! The resume sidecar: one TSV per session directory, kept in the config directory
//! (`<config dir>/downloads/<md5 of the absolute session dir>.tsv`), records for every file this
//! tool wrote and verified its size, modification time and MD5. A later run trusts a file whose size
//! and mtime still match the record and whose recorded MD5 equals the catalog's, instead of
//! re-reading it; any other file is hashed as before.
//!
//! The manifest is only a cache: lines are appended as files complete (so an interrupted run
//! keeps what it verified), a later line for the same path wins, unreadable lines are ignored, and
//! failing to write it never fails a download (a lost manifest only means hashing again). It
//! is kept out of the output tree so the download layout stays exactly the catalog's files.

use std::collections::HashMap;
use std::fs::{File, Metadata, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use md5::{Digest, Md5};

/// The MD5 column of a line that withdraws the path's earlier records.
const FORGOTTEN: &str = "-";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    md5: String,
    size: u64,
    mtime_ns: u128,
}

/// Loaded records plus an append handle.
#[derive(Debug)]
pub struct Manifest {
    path: Option<PathBuf>,
    entries: HashMap<String, Entry>,
    out: Mutex<Option<File>>,
}

fn mtime_ns(meta: &Metadata) -> Option<u128> {
    meta.modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_nanos())
}

impl Manifest {
    /// The manifest file for `session_dir` inside `manifest_dir`.
    pub fn path_for(manifest_dir: &Path, session_dir: &Path) -> PathBuf {
        let abs = std::path::absolute(session_dir).unwrap_or_else(|_| session_dir.to_path_buf());
        let key = hex::encode(Md5::digest(abs.to_string_lossy().as_bytes()));
        manifest_dir.join(format!("{key}.tsv"))
    }

    /// A manifest that records nothing and vouches for nothing.
    pub fn disabled() -> Self {
        Manifest {
            path: None,
            entries: HashMap::new(),
            out: Mutex::new(None),
        }
    }

    /// Read the manifest at `path` (an absent or unreadable one is empty).
    pub fn load(path: PathBuf) -> Self {
        let mut entries = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(&path) {
            for line in text.lines() {
                let mut parts = line.splitn(4, '\t');
                let (Some(md5), Some(size), Some(mtime), Some(rel)) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                if md5 == FORGOTTEN {
                    entries.remove(rel);
                    continue;
                }
                let (Ok(size), Ok(mtime_ns)) = (size.parse(), mtime.parse()) else {
                    continue;
                };
                entries.insert(
                    rel.to_string(),
                    Entry {
                        md5: md5.to_string(),
                        size,
                        mtime_ns,
                    },
                );
            }
        }
        Manifest {
            path: Some(path),
            entries,
            out: Mutex::new(None),
        }
    }

    /// Whether `rel` (relative to the session directory) was recorded with this MD5 and still has
    /// the recorded size and modification time.
    pub fn vouches_for(&self, rel: &str, meta: &Metadata, md5: &str) -> bool {
        self.entries.get(rel).is_some_and(|e| {
            e.md5 == md5 && e.size == meta.len() && Some(e.mtime_ns) == mtime_ns(meta)
        })
    }

    /// Append a record for a file just verified (best effort).
    pub fn record(&self, rel: &str, meta: &Metadata, md5: &str) {
        let Some(mtime) = mtime_ns(meta) else { return };
        self.append(&format!("{md5}\t{}\t{mtime}\t{rel}\n", meta.len()));
    }

    /// Withdraw the record for `rel` (a later `--verify` found the file different), so the next
    /// run hashes it and fetches it again.
    pub fn forget(&self, rel: &str) {
        self.append(&format!("{FORGOTTEN}\t0\t0\t{rel}\n"));
    }

    fn append(&self, line: &str) {
        let Some(path) = &self.path else { return };
        let Ok(mut out) = self.out.lock() else { return };
        if out.is_none() {
            if let Some(dir) = path.parent() {
                let _ = crate::core::fsutil::create_private_dir(dir);
            }
            let mut opts = OpenOptions::new();
            opts.create(true).append(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            match opts.open(path) {
                Ok(f) => *out = Some(f),
                Err(e) => {
                    tracing::debug!(path = %path.display(), error = %e, "no resume manifest");
                    return;
                }
            }
        }
        if let Some(f) = out.as_mut() {
            if let Err(e) = f.write_all(line.as_bytes()) {
                tracing::debug!(path = %path.display(), error = %e, "resume manifest write failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_vouches_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a");
        std::fs::write(&f, b"hello").unwrap();
        let meta = std::fs::metadata(&f).unwrap();
        let path = Manifest::path_for(&dir.path().join("m"), dir.path());
        let m = Manifest::load(path.clone());
        assert!(!m.vouches_for("a", &meta, "x"));
        m.record("a", &meta, "x");
        drop(m);
        let m = Manifest::load(path);
        assert!(m.vouches_for("a", &meta, "x"));
        assert!(
            !m.vouches_for("a", &meta, "y"),
            "a different catalog digest"
        );
        assert!(!m.vouches_for("b", &meta, "x"));
        std::fs::write(&f, b"hellO!").unwrap();
        let changed = std::fs::metadata(&f).unwrap();
        assert!(!m.vouches_for("a", &changed, "x"), "size changed");
        let off = Manifest::disabled();
        off.record("a", &meta, "x");
        assert!(!off.vouches_for("a", &meta, "x"));
    }

    #[test]
    fn a_forgotten_file_is_no_longer_vouched_for() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a");
        std::fs::write(&f, b"hello").unwrap();
        let meta = std::fs::metadata(&f).unwrap();
        let mdir = dir.path().join("m");
        let path = Manifest::path_for(&mdir, dir.path());
        let m = Manifest::load(path.clone());
        m.record("a", &meta, "x");
        m.record("b", &meta, "x");
        m.forget("a");
        drop(m);
        let m = Manifest::load(path.clone());
        assert!(!m.vouches_for("a", &meta, "x"));
        assert!(m.vouches_for("b", &meta, "x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&mdir), 0o700);
            assert_eq!(mode(&path), 0o600);
        }
    }

    #[test]
    fn garbage_lines_are_ignored_and_later_lines_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.tsv");
        std::fs::write(&path, "junk\nx\t5\t1\ta\ny\tnotanumber\t1\ta\nz\t5\t2\ta\n").unwrap();
        let m = Manifest::load(path);
        assert_eq!(m.entries["a"].md5, "z");
        assert_eq!(m.entries.len(), 1);
    }
}
