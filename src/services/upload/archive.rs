//! Archive uploads: one existing archive file, or a directory cut into batches that are packed
//! into temporary tar/zip files one at a time per worker and posted in parallel.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::ladder::{post_import, ImportBody};
use super::{
    import_params, member_name, work_dir, ArchiveFormat, Handler, ImportSettings, Overwrite,
};
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

/// The batches of a directory upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchPlan {
    /// The batches, in order.
    pub batches: Vec<Vec<PathBuf>>,
    /// When true, `batches[0]` is a one-file leader sent alone first with the requested overwrite
    /// mode, and every other batch is sent with `append`. Without it, parallel batches sent with
    /// `delete` would each wipe what the others imported, and with `none` every batch after the
    /// first would be refused because the session now exists.
    pub leader: bool,
}

/// Split `files` round-robin into `min(workers, files)` batches (at least one), behind a
/// one-file leader batch when the overwrite mode is not `append` and there is more than one file.
pub fn plan_batches(files: &[PathBuf], workers: usize, overwrite: Overwrite) -> BatchPlan {
    let leader = overwrite != Overwrite::Append && files.len() > 1;
    let (head, rest) = if leader {
        (vec![vec![files[0].clone()]], &files[1..])
    } else {
        (Vec::new(), files)
    };
    let n = workers.clamp(1, rest.len().max(1));
    let mut batches = vec![Vec::new(); n];
    for (i, f) in rest.iter().enumerate() {
        batches[i % n].push(f.clone());
    }
    batches.retain(|b| !b.is_empty());
    BatchPlan {
        batches: head.into_iter().chain(batches).collect(),
        leader,
    }
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

/// Upload the planned batches (files below `root`) as archives on a pool of `workers`.
///
/// Never fails as a whole once started: each batch reports its own outcome. Batches not yet
/// started when `cancel` fires are reported as cancelled.
#[allow(clippy::too_many_arguments)]
pub async fn upload_directory(
    client: &XnatClient,
    settings: &ImportSettings,
    root: &Path,
    plan: BatchPlan,
    format: ArchiveFormat,
    workers: usize,
    progress: Arc<dyn Progress>,
    cancel: &CancellationToken,
) -> Result<Vec<BatchOutcome>> {
    let tmp = work_dir("xnatctl_upload_")?;
    let first_params = import_params(settings, Handler::DicomZip);
    let append = ImportSettings {
        overwrite: Overwrite::Append,
        ..settings.clone()
    };
    let rest_params = import_params(&append, Handler::DicomZip);
    let run = |i: usize, files: Vec<PathBuf>, params: &[(String, String)]| {
        let job = Batch {
            number: i + 1,
            dest: tmp
                .path()
                .join(format!("batch_{}.{}", i + 1, format.extension())),
            root: root.to_path_buf(),
            files,
            format,
        };
        run_batch(
            client,
            settings,
            params.to_vec(),
            job,
            progress.clone(),
            cancel,
        )
    };
    let mut batches = plan.batches.into_iter().enumerate();
    let mut outcomes = Vec::new();
    if plan.leader {
        if let Some((i, files)) = batches.next() {
            let first = run(i, files, &first_params).await;
            let failed = first.error.clone();
            outcomes.push(first);
            if let Some(err) = failed {
                for (i, files) in batches.by_ref() {
                    outcomes.push(BatchOutcome {
                        number: i + 1,
                        files: files.len(),
                        bytes: 0,
                        error: Some(format!("not sent: the first batch failed ({err})")),
                        cancelled: cancel.is_cancelled(),
                    });
                }
            }
        }
    }
    let params = if plan.leader {
        &rest_params
    } else {
        &first_params
    };
    let rest: Vec<BatchOutcome> = futures::stream::iter(batches)
        .map(|(i, files)| run(i, files, params))
        .buffer_unordered(workers.max(1))
        .collect()
        .await;
    outcomes.extend(rest);
    outcomes.sort_by_key(|o| o.number);
    drop(tmp);
    Ok(outcomes)
}

struct Batch {
    number: usize,
    dest: PathBuf,
    root: PathBuf,
    files: Vec<PathBuf>,
    format: ArchiveFormat,
}

/// Build one batch's archive, send it, delete it.
async fn run_batch(
    client: &XnatClient,
    settings: &ImportSettings,
    params: Vec<(String, String)>,
    job: Batch,
    progress: Arc<dyn Progress>,
    cancel: &CancellationToken,
) -> BatchOutcome {
    let mut outcome = BatchOutcome {
        number: job.number,
        files: job.files.len(),
        bytes: 0,
        error: None,
        cancelled: false,
    };
    if cancel.is_cancelled() {
        outcome.cancelled = true;
        outcome.error = Some("cancelled".into());
        return outcome;
    }
    let label = format!("batch {}", job.number);
    let dest = job.dest.clone();
    let result = async {
        let (root, files, built, format) = (job.root, job.files, dest.clone(), job.format);
        let size =
            tokio::task::spawn_blocking(move || build_archive(&root, &files, &built, format))
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
        let b = plan_batches(&files, 2, Overwrite::Append);
        assert!(!b.leader);
        assert_eq!(b.batches.len(), 2);
        assert_eq!(
            b.batches[0],
            vec![PathBuf::from("0"), "2".into(), "4".into()]
        );
        assert_eq!(
            plan_batches(&files[..1], 8, Overwrite::Delete)
                .batches
                .len(),
            1
        );
        assert_eq!(plan_batches(&files, 0, Overwrite::Append).batches.len(), 1);
        let led = plan_batches(&files, 2, Overwrite::Delete);
        assert!(led.leader);
        assert_eq!(led.batches[0], vec![PathBuf::from("0")]);
        assert_eq!(led.batches[1], vec![PathBuf::from("1"), "3".into()]);
        assert_eq!(led.batches.len(), 3);
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
