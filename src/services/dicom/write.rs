//! Writing a file so that nobody ever sees half of it: a temporary file in the target's own
//! directory (same file system, so the rename is atomic), then a rename over the target.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use dicom_object::DefaultDicomObject;

use super::read::Tail;

/// Write `obj` to `target` through a temporary name; `mode_from` gives the permissions to keep
/// (the file being replaced). On any failure the temporary file is removed and `target` is
/// untouched.
pub(crate) fn write_object_atomic(
    obj: &DefaultDicomObject,
    target: &Path,
    mode_from: Option<&Path>,
) -> Result<(), String> {
    write_atomic(obj, None, target, mode_from)
}

/// Write `obj` (parsed from the part of a file before its pixel data) followed by the bytes of
/// `tail` copied unchanged (in the kernel: `copy_file_range` on Linux), through a temporary
/// name as [`write_object_atomic`] does. `obj` must keep the source's transfer syntax.
pub(crate) fn write_object_with_tail_atomic(
    obj: &DefaultDicomObject,
    tail: &Tail,
    target: &Path,
    mode_from: Option<&Path>,
) -> Result<(), String> {
    write_atomic(obj, Some(tail), target, mode_from)
}

fn write_atomic(
    obj: &DefaultDicomObject,
    tail: Option<&Tail>,
    target: &Path,
    mode_from: Option<&Path>,
) -> Result<(), String> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".xnatctl-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| format!("creating a temporary file in {}: {e}", dir.display()))?;
    {
        let mut w = BufWriter::with_capacity(256 * 1024, tmp.as_file());
        obj.write_all(&mut w).map_err(|e| {
            format!(
                "writing {}: {}",
                target.display(),
                super::read::one_line(&e)
            )
        })?;
        w.flush()
            .map_err(|e| format!("writing {}: {e}", target.display()))?;
    }
    if let Some(t) = tail {
        let failed = |e: std::io::Error| format!("writing {}: {e}", target.display());
        let mut from = &t.file;
        from.seek(SeekFrom::Start(t.from)).map_err(failed)?;
        let copied = std::io::copy(&mut from.take(t.len), &mut tmp.as_file()).map_err(failed)?;
        if copied != t.len {
            return Err(format!(
                "writing {}: the source shrank while it was copied",
                target.display()
            ));
        }
    }
    if let Some(src) = mode_from {
        if let Ok(meta) = std::fs::metadata(src) {
            let _ = tmp.as_file().set_permissions(meta.permissions());
        }
    }
    tmp.persist(target)
        .map_err(|e| format!("renaming into {}: {}", target.display(), e.error))?;
    Ok(())
}

/// Copy `src` to `dest` through a temporary name (for `--backup`).
pub(crate) fn copy_atomic(src: &Path, dest: &Path) -> Result<(), String> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".xnatctl-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| format!("creating a temporary file in {}: {e}", dir.display()))?;
    let mut from = File::open(src).map_err(|e| format!("reading {}: {e}", src.display()))?;
    std::io::copy(&mut from, tmp.as_file_mut())
        .map_err(|e| format!("writing {}: {e}", dest.display()))?;
    if let Ok(meta) = std::fs::metadata(src) {
        let _ = tmp.as_file().set_permissions(meta.permissions());
    }
    tmp.persist(dest)
        .map_err(|e| format!("renaming into {}: {}", dest.display(), e.error))?;
    Ok(())
}
