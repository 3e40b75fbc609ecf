//! Small file-system helpers for files that hold secrets (config, session cache).
//!
//! Both the config file and the session cache must never be readable by other users, not even for
//! the instant between creating a file and changing its mode, and a crash mid-write must never leave
//! a truncated file behind. These helpers give that guarantee in one place.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::core::error::{Error, Result};

/// Create `path` (and missing parents) as a directory private to the current user.
///
/// A directory created here gets mode 0700 on Unix; an existing directory keeps its mode, because
/// the user may have chosen to share it deliberately.
pub fn create_private_dir(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .map_err(|e| Error::io(format!("creating directory {}", path.display()), e))
}

/// Write `bytes` to `path` atomically, with mode 0600 on Unix.
///
/// The data goes to a temporary file in the same directory (created 0600 from the start), is
/// flushed to disk, then renamed over `path`. Readers see either the old or the new content. The
/// parent directory is created with [`create_private_dir`] when missing.
pub fn write_secret_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    create_private_dir(&dir)?;
    let ctx = || format!("writing {}", path.display());
    // tempfile creates the file with mode 0600 on Unix, so the secret is never world-readable.
    let mut tmp = tempfile::Builder::new()
        .prefix(".xnatctl-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(ctx(), e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(ctx(), e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(ctx(), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(ctx(), e))?;
    }
    tmp.persist(path).map_err(|e| Error::io(ctx(), e.error))?;
    // Make the rename itself durable; failure here is not worth failing the write for.
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// An exclusive advisory lock, held until dropped (the kernel also drops it when the process
/// dies). See [`lock_exclusive`].
#[derive(Debug)]
pub struct FileLock {
    _file: fs::File,
}

/// Lock `<path>.lock` for a read-modify-write of `path`, waiting while another process holds it.
///
/// The data file itself cannot carry the lock: [`write_secret_atomic`] replaces it by a rename,
/// and a lock on the old inode would not exclude a process that opened the new one. So two
/// concurrent `auth login`s (or `config add-profile`s) take turns instead of one overwriting the
/// other's entry.
pub fn lock_exclusive(path: &Path) -> Result<FileLock> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    let lock_path = path.with_file_name(name);
    if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let ctx = || format!("locking {}", lock_path.display());
    let mut opts = fs::OpenOptions::new();
    opts.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(&lock_path).map_err(|e| Error::io(ctx(), e))?;
    file.lock().map_err(|e| Error::io(ctx(), e))?;
    Ok(FileLock { _file: file })
}

/// [`lock_exclusive`] for async code: the wait happens on a blocking thread, so a runtime
/// waiting for another process's renewal keeps its other tasks (Ctrl-C) running.
pub async fn lock_exclusive_async(path: &Path) -> Result<FileLock> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || lock_exclusive(&path))
        .await
        .map_err(|e| Error::Operation(format!("waiting for a file lock: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("nested").join("cfg");
        let file = sub.join("secret.json");
        write_secret_atomic(&file, b"one").unwrap();
        write_secret_atomic(&file, b"two").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"two");
        let leftovers: Vec<_> = fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "temp files left: {leftovers:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let dmode = fs::metadata(&sub).unwrap().permissions().mode() & 0o777;
            assert_eq!(dmode, 0o700);
        }
    }

    #[test]
    fn a_second_lock_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cfg").join("config.yaml");
        let first = lock_exclusive(&path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        let t = std::thread::spawn(move || {
            let _second = lock_exclusive(&p).unwrap();
            tx.send(()).unwrap();
        });
        assert!(rx
            .recv_timeout(std::time::Duration::from_millis(200))
            .is_err());
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        t.join().unwrap();
        assert!(dir.path().join("cfg/config.yaml.lock").exists());
    }

    #[cfg(unix)]
    #[test]
    fn existing_directory_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(dir.path()).unwrap();
        let mode = fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
    }
}
