//! One download at a time per session folder.
//!
//! Temporary files are unique per run ([`super::staged`]), so concurrent runs can no longer
//! damage each other's files; the lock adds what uniqueness cannot: a run that holds it may
//! remove the temporary files a killed run left behind, and its `--verify` never sees another
//! run's files in progress. A second run into the same folder says so on stderr and waits for
//! the first to finish, then goes on like a resume (files the first run completed are up to
//! date). The lock is an advisory `flock` on a file next to the resume manifest, keyed like it by
//! the absolute session folder; the kernel releases it when the holder exits or is killed.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::manifest::Manifest;
use crate::core::error::{Error, Result};

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(200);

/// Held for the whole run; dropping it releases the lock.
#[derive(Debug)]
pub struct SessionLock {
    _file: File,
    path: PathBuf,
}

impl SessionLock {
    /// The lock file for `session_dir` inside `manifest_dir`.
    pub fn path_for(manifest_dir: &Path, session_dir: &Path) -> PathBuf {
        Manifest::path_for(manifest_dir, session_dir).with_extension("lock")
    }

    /// Take the lock, calling `on_wait` once if another run holds it and then waiting until it
    /// is free or `cancel` fires ([`Error::Cancelled`]).
    pub async fn acquire(
        manifest_dir: &Path,
        session_dir: &Path,
        cancel: &CancellationToken,
        on_wait: impl FnOnce(),
    ) -> Result<SessionLock> {
        crate::core::fsutil::create_private_dir(manifest_dir)?;
        let path = Self::path_for(manifest_dir, session_dir);
        let ctx = || format!("locking {}", path.display());
        let mut opts = OpenOptions::new();
        opts.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(&path).map_err(|e| Error::io(ctx(), e))?;
        let mut on_wait = Some(on_wait);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(SessionLock { _file: file, path }),
                Err(TryLockError::WouldBlock) => {
                    if let Some(f) = on_wait.take() {
                        f();
                    }
                    tokio::select! {
                        _ = cancel.cancelled() => return Err(Error::Cancelled),
                        _ = tokio::time::sleep(POLL) => {}
                    }
                }
                Err(TryLockError::Error(e)) => return Err(Error::io(ctx(), e)),
            }
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn a_second_run_waits_until_the_first_releases() {
        let dir = tempfile::tempdir().unwrap();
        let session = dir.path().join("out/S1");
        let cancel = CancellationToken::new();
        let first = SessionLock::acquire(dir.path(), &session, &cancel, || {})
            .await
            .unwrap();
        let waited = Arc::new(AtomicBool::new(false));
        let w = Arc::clone(&waited);
        let (d, s, c) = (dir.path().to_path_buf(), session.clone(), cancel.clone());
        let second = tokio::spawn(async move {
            SessionLock::acquire(&d, &s, &c, || w.store(true, Ordering::SeqCst)).await
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(waited.load(Ordering::SeqCst));
        assert!(!second.is_finished());
        drop(first);
        let second = second.await.unwrap().unwrap();
        assert_eq!(second.path(), SessionLock::path_for(dir.path(), &session));
    }

    #[tokio::test]
    async fn waiting_stops_on_cancel() {
        let dir = tempfile::tempdir().unwrap();
        let cancel = CancellationToken::new();
        let _first = SessionLock::acquire(dir.path(), dir.path(), &cancel, || {})
            .await
            .unwrap();
        let c = cancel.clone();
        let r = SessionLock::acquire(dir.path(), dir.path(), &cancel, move || c.cancel()).await;
        assert!(matches!(r, Err(Error::Cancelled)));
    }
}
