//! Writing a file so that nothing incomplete, unverified or foreign ever sits under its final
//! name, even with several runs writing into the same folder at once.
//!
//! Every file is first written to a temporary sibling with a name of its own
//! (`.<name>.<random>.xnatctl-part`), created with create-new semantics (`O_EXCL`): a path that
//! already exists, including a symbolic link someone planted, is never opened, followed or
//! truncated; a fresh random name is tried instead. Once the bytes are checked against what the
//! catalog promised, the temporary file is renamed over the final name. `rename(2)` replaces
//! the name itself (never a symlink's target), and two runs that finish the same file each put
//! a complete, verified copy there, so whichever rename comes last is as good as the first.
//! Dropping a [`Staged`] without committing removes its temporary file (also on cancellation).
//!
//! The per-file engine, `local extract` and the archive download path all go through here.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use tempfile::TempPath;

use crate::core::error::{Error, Result};

/// Suffix of every temporary file this module creates.
pub const TEMP_SUFFIX: &str = ".xnatctl-part";

/// Whether a directory entry named `name` is one of our temporary files (a leftover of a killed
/// run, or a concurrent run's file in progress).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

/// Remove leftover temporary files (regular files or links, never their targets) directly in
/// `dir`. Only safe while no other run writes there: callers hold the session lock.
pub fn sweep_temp_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(true);
        if !is_dir
            && is_temp_name(&name.to_string_lossy())
            && std::fs::remove_file(e.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// What the written bytes must be: checked by [`Staged::commit`].
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// How the file is named in messages (its catalog path).
    pub name: &'a str,
    /// Byte count, when known.
    pub size: Option<u64>,
    /// Lowercase hex MD5, when known.
    pub md5: Option<&'a str>,
}

/// What was written: byte count and lowercase hex MD5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Bytes written.
    pub bytes: u64,
    /// Their MD5, lowercase hex.
    pub md5: String,
}

/// A temporary file on its way to a final name.
#[derive(Debug)]
pub struct Staged {
    temp: TempPath,
    dest: PathBuf,
}

impl Staged {
    /// Create a new temporary file next to `dest` (the folder must exist) and return it open for
    /// writing. Its mode is the one a plain create would give (0666 less the umask).
    pub fn create(dest: &Path) -> io::Result<(File, Staged)> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = dest.file_name().unwrap_or_default().to_string_lossy();
        // Keep the name short enough for NAME_MAX even for long catalog names.
        let stem: String = name.chars().take(160).collect();
        let prefix = format!(".{stem}.");
        let mut b = tempfile::Builder::new();
        b.prefix(&prefix).suffix(TEMP_SUFFIX).rand_bytes(8);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            b.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let (file, temp) = b.tempfile_in(dir)?.into_parts();
        Ok((
            file,
            Staged {
                temp,
                dest: dest.to_path_buf(),
            },
        ))
    }

    /// The temporary path (for messages).
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Check `got` against `want`, then rename the temporary file over the final name. On any
    /// failure the temporary file is removed and the final name is left as it was.
    pub fn commit(self, got: &Written, want: &Expected<'_>) -> Result<()> {
        if let Some(size) = want.size.filter(|s| *s != got.bytes) {
            return Err(Error::Download(format!(
                "{}: got {} of {size} bytes",
                want.name, got.bytes
            )));
        }
        if let Some(d) = want.md5.filter(|d| *d != got.md5) {
            return Err(Error::Verification(format!(
                "{}: MD5 {} does not match the server's {d}",
                want.name, got.md5
            )));
        }
        let dest = self.dest;
        self.temp
            .persist(&dest)
            .map_err(|e| Error::io(format!("renaming into {}", dest.display()), e.error))
    }
}

/// A writer that counts and hashes what goes through it, for callers that copy into the file a
/// [`Staged::create`] returned.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Md5,
    bytes: u64,
}

impl<W: io::Write> HashingWriter<W> {
    /// Wrap `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Md5::new(),
            bytes: 0,
        }
    }

    /// What was written so far.
    pub fn finish(self) -> Written {
        Written {
            bytes: self.bytes,
            md5: hex::encode(self.hasher.finalize()),
        }
    }
}

impl<W: io::Write> io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// MD5 of everything `r` yields, lowercase hex.
pub fn md5_of_reader(mut r: impl Read) -> io::Result<String> {
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn written(bytes: &[u8]) -> Written {
        Written {
            bytes: bytes.len() as u64,
            md5: md5_of_reader(bytes).unwrap(),
        }
    }

    #[test]
    fn two_stagings_of_one_file_never_share_a_path_and_both_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.dcm");
        let (mut f1, s1) = Staged::create(&dest).unwrap();
        let (mut f2, s2) = Staged::create(&dest).unwrap();
        assert_ne!(s1.path(), s2.path());
        f1.write_all(b"hello").unwrap();
        f2.write_all(b"hello").unwrap();
        let want = Expected {
            name: "a.dcm",
            size: Some(5),
            md5: Some("5d41402abc4b2a76b9719d911017c592"),
        };
        s1.commit(&written(b"hello"), &want).unwrap();
        s2.commit(&written(b"hello"), &want).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the final file remains");
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let dest = dir.path().join("a.dcm");
        // The old fixed name, and a link at the final name itself.
        std::os::unix::fs::symlink(&victim, dir.path().join("a.dcm.part")).unwrap();
        std::os::unix::fs::symlink(&victim, &dest).unwrap();
        let (mut f, s) = Staged::create(&dest).unwrap();
        f.write_all(b"new").unwrap();
        s.commit(
            &written(b"new"),
            &Expected {
                name: "a.dcm",
                size: Some(3),
                md5: None,
            },
        )
        .unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        assert!(!std::fs::symlink_metadata(&dest)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn a_bad_digest_or_size_leaves_the_final_name_alone() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a");
        std::fs::write(&dest, b"old").unwrap();
        for want in [
            Expected {
                name: "a",
                size: Some(9),
                md5: None,
            },
            Expected {
                name: "a",
                size: None,
                md5: Some("00"),
            },
        ] {
            let (mut f, s) = Staged::create(&dest).unwrap();
            f.write_all(b"new").unwrap();
            assert!(s.commit(&written(b"new"), &want).is_err());
        }
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn sweeping_removes_only_our_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let (_f, s) = Staged::create(&dir.path().join("a")).unwrap();
        let left = s.path().to_path_buf();
        std::mem::forget(s);
        std::fs::write(dir.path().join("b.part"), b"user's").unwrap();
        std::fs::write(dir.path().join("c"), b"x").unwrap();
        assert!(left.exists());
        assert_eq!(sweep_temp_files(dir.path()), 1);
        assert!(!left.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
