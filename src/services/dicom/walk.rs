//! Which files a run touches, and a small ordered parallel map over them.
//!
//! Directories are listed up front (sorted, hidden names skipped) so outputs written during the
//! run are never picked up as inputs; the per-file work then runs on a few scoped threads.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::core::{Error, Result};

/// The regular files under `path` (itself when it is a file), sorted by path. Names starting
/// with `.` are skipped; subdirectories only with `recursive`.
pub fn collect(path: &Path, recursive: bool) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::InvalidPath {
        value: path.display().to_string(),
        reason: reason(&e),
    })?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !meta.is_dir() {
        return Err(Error::InvalidPath {
            value: path.display().to_string(),
            reason: "not a file or directory".into(),
        });
    }
    let mut out = Vec::new();
    walk_dir(path, recursive, &mut out)?;
    out.sort();
    Ok(out)
}

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn walk_dir(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Follows symlinks: a link to a file counts as that file, a dangling link is skipped.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_file() {
            out.push(path);
        } else if meta.is_dir() && recursive {
            walk_dir(&path, recursive, out)?;
        }
    }
    Ok(())
}

/// How many threads the per-file work uses: the machine's parallelism, at most 8.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}

/// `f` applied to every item on up to `threads` scoped threads; results keep the input order.
/// Items are handed out one at a time, so one slow file does not hold up a whole chunk.
pub fn par_map<T, R, F>(items: &[T], threads: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                slots.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_map_keeps_order() {
        let items: Vec<usize> = (0..100).collect();
        assert_eq!(
            par_map(&items, 4, |i| i * 2),
            (0..100).map(|i| i * 2).collect::<Vec<_>>()
        );
    }

    #[test]
    fn collect_skips_hidden_and_subdirs_unless_recursive() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.dcm"), b"x").unwrap();
        std::fs::write(dir.path().join(".hidden"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.dcm"), b"x").unwrap();
        assert_eq!(collect(dir.path(), false).unwrap().len(), 1);
        let all = collect(dir.path(), true).unwrap();
        assert_eq!(all.len(), 2);
        assert!(all[0] < all[1]);
    }

    #[test]
    fn collect_names_a_missing_path() {
        let err = collect(Path::new("/no/such/place"), false).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
