//! Archive uploads: one existing archive file, or a directory cut into batches that are packed
//! into temporary tar/zip files one at a time per worker and posted in parallel.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::ladder::{post_import, ImportBody};
use super::{import_params, member_name, work_dir, ArchiveFormat, Handler, ImportSettings};
use crate::core::client::XnatClient;
use crate::core::progress::Progress;
use crate::core::{Error, Result};

/// How one batch of a directory upload ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// 1-based batch number.
    pub number: usize,
    /// DICOM files in the batch.
    pub files: usize,
    /// Size of the archive sent (0 when it was never built).
    pub bytes: u64,
    /// Why it failed; None on success.
    pub error: Option<String>,
    /// True when Ctrl-C stopped it before or while it ran.
    pub cancelled: bool,
}

/// Split `files` round-robin into `min(workers, files)` batches (at least one).
pub fn plan_batches(files: &[PathBuf], workers: usize) -> Vec<Vec<PathBuf>> {
    let n = workers.clamp(1, files.len().max(1));
    let mut batches = vec![Vec::new(); n];
    for (i, f) in files.iter().enumerate() {
        batches[i % n].push(f.clone());
    }
    batches.retain(|b| !b.is_empty());
    batches
}

fn content_type_of(path: &Path) -> &'static str {
    let zip = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    if zip {
        "application/zip"
    } else {
        "application/x-tar"
    }
}

/// Upload one existing archive (zip, tar, tar.gz) as it is; returns the server's answer.
pub async fn upload_archive_file(
    client: &XnatClient,
    settings: &ImportSettings,
    path: &Path,
    cancel: &CancellationToken,
) -> Result<String> {
    let params = import_params(settings, Handler::DicomZip);
    let body = ImportBody::new(path, content_type_of(path));
    post_import(client, &params, &body, &settings.target, cancel).await
}

/// Upload `files` (below `root`) as `batches` archives on a pool of `workers`.
///
/// Never fails as a whole once started: each batch reports its own outcome. Batches not yet
/// started when `cancel` fires are reported as cancelled.
pub async fn upload_directory(
    client: &XnatClient,
    settings: &ImportSettings,
    root: &Path,
    batches: Vec<Vec<PathBuf>>,
    format: ArchiveFormat,
    workers: usize,
    progress: Arc<dyn Progress>,
    cancel: &CancellationToken,
) -> Result<Vec<BatchOutcome>> {
    let tmp = work_dir("xnatctl_upload_")?;
    let params = import_params(settings, Handler::DicomZip);
    let root = root.to_path_buf();
    let tasks = batches.into_iter().enumerate().map(|(i, files)| {
        let dest = tmp
            .path()
            .join(format!("batch_{}.{}", i + 1, format.extension()));
        let root = root.clone();
        let params = params.clone();
        let progress = progress.clone();
        async move {
            let mut outcome = BatchOutcome {
                number: i + 1,
                files: files.len(),
                bytes: 0,
                error: None,
                cancelled: false,
            };
            if cancel.is_cancelled() {
                outcome.cancelled = true;
                outcome.error = Some("cancelled".into());
                return outcome;
            }
            let label = format!("batch {}", i + 1);
            let result = async {
                let built = dest.clone();
                let size = tokio::task::spawn_blocking(move || {
                    build_archive(&root, &files, &built, format)
                })
                .await
                .map_err(|e| Error::Upload(format!("archive task failed: {e}")))??;
                outcome.bytes = size;
                progress.begin(&label, Some(size));
                let body = ImportBody::new(&dest, content_type_of(&dest));
                let r = post_import(client, &params, &body, &settings.target, cancel).await;
                progress.finish(&label);
                if r.is_ok() {
                    progress.advance(size);
                }
                r
            }
            .await;
            let _ = std::fs::remove_file(&dest);
            match result {
                Ok(_) => {}
                Err(Error::Cancelled) => {
                    outcome.cancelled = true;
                    outcome.error = Some("cancelled".into());
                }
                Err(e) => outcome.error = Some(e.to_string()),
            }
            outcome
        }
    });
    let mut outcomes: Vec<BatchOutcome> = futures::stream::iter(tasks)
        .buffer_unordered(workers.max(1))
        .collect()
        .await;
    outcomes.sort_by_key(|o| o.number);
    drop(tmp);
    Ok(outcomes)
}

/// Write `files` into an archive at `dest`, member names relative to `root`; returns its size.
fn build_archive(
    root: &Path,
    files: &[PathBuf],
    dest: &Path,
    format: ArchiveFormat,
) -> Result<u64> {
    let io = |e: std::io::Error| Error::io(format!("writing {}", dest.display()), e);
    let out = std::fs::File::create(dest).map_err(io)?;
    let out = BufWriter::with_capacity(1 << 20, out);
    match format {
        ArchiveFormat::Tar => {
            let mut tar = tar::Builder::new(out);
            for f in files {
                tar.append_path_with_name(f, member_name(root, f))
                    .map_err(|e| Error::io(format!("adding {} to the archive", f.display()), e))?;
            }
            tar.into_inner().map_err(io)?.flush().map_err(io)?;
        }
        ArchiveFormat::Zip => {
            let mut zip = zip::ZipWriter::new(out);
            for f in files {
                let mut src = std::fs::File::open(f)
                    .map_err(|e| Error::io(format!("reading {}", f.display()), e))?;
                let len = src.metadata().map(|m| m.len()).unwrap_or(0);
                let opts = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .large_file(len >= u32::MAX as u64);
                zip.start_file(member_name(root, f), opts)
                    .map_err(|e| Error::Upload(format!("zip: {e}")))?;
                std::io::copy(&mut src, &mut zip).map_err(io)?;
            }
            let mut w = zip
                .finish()
                .map_err(|e| Error::Upload(format!("zip: {e}")))?;
            w.flush().map_err(io)?;
        }
    }
    Ok(std::fs::metadata(dest).map_err(io)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_round_robin_and_never_empty() {
        let files: Vec<PathBuf> = (0..5).map(|i| PathBuf::from(format!("{i}"))).collect();
        let b = plan_batches(&files, 2);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0], vec![PathBuf::from("0"), "2".into(), "4".into()]);
        assert_eq!(plan_batches(&files[..1], 8).len(), 1);
        assert_eq!(plan_batches(&files, 0).len(), 1);
    }

    #[test]
    fn tar_and_zip_members_are_relative() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("a")).unwrap();
        std::fs::write(src.join("a/1.dcm"), b"one").unwrap();
        std::fs::write(src.join("2.dcm"), b"two").unwrap();
        let files = vec![src.join("a/1.dcm"), src.join("2.dcm")];
        let t = dir.path().join("b.tar");
        build_archive(&src, &files, &t, ArchiveFormat::Tar).unwrap();
        let mut ar = tar::Archive::new(std::fs::File::open(&t).unwrap());
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a/1.dcm", "2.dcm"]);
        let z = dir.path().join("b.zip");
        build_archive(&src, &files, &z, ArchiveFormat::Zip).unwrap();
        let zr = zip::ZipArchive::new(std::fs::File::open(&z).unwrap()).unwrap();
        let names: Vec<&str> = zr.file_names().collect();
        assert!(names.contains(&"a/1.dcm") && names.contains(&"2.dcm"));
    }
}
