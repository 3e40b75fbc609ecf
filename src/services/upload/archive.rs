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
    plan_led_batches(files, workers, overwrite != Overwrite::Append)
}

/// As [`plan_batches`], with a one-file leader batch whenever `leader` and there is more than
/// one file.
pub(crate) fn plan_led_batches(files: &[PathBuf], workers: usize, leader: bool) -> BatchPlan {
    let leader = leader && files.len() > 1;
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

/// Refuse, before any request, a file that is not a zip, gzip (tar.gz) or tar archive: XNAT
/// answers such an upload with a 400 (after reading all of it), and it would fail the same way
/// every time.
pub fn check_archive_magic(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut head = [0u8; 262];
    let mut n = 0;
    let mut f = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }
    let head = &head[..n];
    let zip = head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06");
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    let tar = head.len() >= 262 && &head[257..262] == b"ustar";
    if zip || gzip || tar {
        return Ok(());
    }
    Err(Error::Upload(format!(
        "{} is not a zip, tar or tar.gz archive; give an archive or a directory of DICOM files",
        path.display()
    )))
}

/// Upload one existing archive (zip, tar, tar.gz) as it is; returns the server's answer.
pub async fn upload_archive_file(
    client: &XnatClient,
    settings: &ImportSettings,
    path: &Path,
    cancel: &CancellationToken,
) -> Result<String> {
    check_archive_magic(path)?;
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

/// Send one batch: a tar is packed while it is sent; a zip is built in a temporary file first.
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
        let (size, body) = match format {
            ArchiveFormat::Tar => {
                let size = tar_size(&root, &files)?;
                (size, ImportBody::tar(&root, files))
            }
            ArchiveFormat::Zip => {
                let size = tokio::task::spawn_blocking(move || {
                    build_archive(&root, &files, &built, format)
                })
                .await
                .map_err(|source| Error::UploadTask {
                    what: "archive",
                    source,
                })??;
                (size, ImportBody::new(&dest, content_type_of(&dest)))
            }
        };
        outcome.bytes = size;
        progress.begin(&label, Some(size));
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

/// Bytes of the tar [`write_tar`] makes of `files` (GNU headers; a member name longer than 100
/// bytes takes a long-name entry). Fails like packing would when a file cannot be read.
fn tar_size(root: &Path, files: &[PathBuf]) -> Result<u64> {
    let block = |n: u64| n.div_ceil(512) * 512;
    let mut total = 1024;
    for f in files {
        let len = std::fs::metadata(f)
            .map_err(|e| Error::io(format!("adding {} to the archive", f.display()), e))?
            .len();
        let name = member_name(root, f).len() as u64;
        if name > 100 {
            total += 512 + block(name + 1);
        }
        total += 512 + block(len);
    }
    Ok(total)
}

/// Pack `files` (member names relative to `root`) as a tar into `out`.
fn write_tar(root: &Path, files: &[PathBuf], out: impl Write) -> std::io::Result<()> {
    let mut tar = tar::Builder::new(out);
    for f in files {
        tar.append_path_with_name(f, member_name(root, f))
            .map_err(|e| std::io::Error::new(e.kind(), format!("adding {}: {e}", f.display())))?;
    }
    tar.into_inner()?.flush()
}

/// Hands what it is given to an async receiver in 256 KiB chunks.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<std::io::Result<bytes::Bytes>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 256 * 1024;

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.flush()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Ok(chunk.into()))
            .map_err(|_| std::io::ErrorKind::BrokenPipe.into())
    }
}

/// A request body that packs `files` as a tar on a blocking thread while it is sent (a few
/// chunks in flight, nothing on disk). The same files give the same bytes, so a retry packs again.
pub(super) fn tar_body(root: PathBuf, files: Arc<Vec<PathBuf>>) -> reqwest::Body {
    reqwest::Body::wrap_stream(tar_stream(root, files))
}

fn tar_stream(
    root: PathBuf,
    files: Arc<Vec<PathBuf>>,
) -> impl futures::Stream<Item = std::io::Result<bytes::Bytes>> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        if let Err(e) = write_tar(&root, &files, w) {
            // BrokenPipe: the request was dropped; nobody is listening.
            let _ = tx.blocking_send(Err(e));
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
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
        ArchiveFormat::Tar => write_tar(root, files, out).map_err(io)?,
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
                    .map_err(|source| Error::UploadZip { source })?;
                std::io::copy(&mut src, &mut zip).map_err(io)?;
            }
            let mut w = zip.finish().map_err(|source| Error::UploadZip { source })?;
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
        let long = src.join(format!("{}.dcm", "n".repeat(150)));
        std::fs::write(&long, vec![7u8; 1000]).unwrap();
        let with_long = vec![src.join("a/1.dcm"), long];
        let lt = dir.path().join("long.tar");
        build_archive(&src, &with_long, &lt, ArchiveFormat::Tar).unwrap();
        let built = std::fs::metadata(&lt).unwrap().len();
        assert_eq!(tar_size(&src, &with_long).unwrap(), built);
        let z = dir.path().join("b.zip");
        build_archive(&src, &files, &z, ArchiveFormat::Zip).unwrap();
        let zr = zip::ZipArchive::new(std::fs::File::open(&z).unwrap()).unwrap();
        let names: Vec<&str> = zr.file_names().collect();
        assert!(names.contains(&"a/1.dcm") && names.contains(&"2.dcm"));
    }

    #[tokio::test]
    async fn streamed_tar_equals_the_built_one_each_time_it_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("a")).unwrap();
        std::fs::write(src.join("a/1.dcm"), vec![1u8; 600_000]).unwrap();
        std::fs::write(src.join("2.dcm"), b"two").unwrap();
        let files = vec![src.join("a/1.dcm"), src.join("2.dcm")];
        let t = dir.path().join("b.tar");
        build_archive(&src, &files, &t, ArchiveFormat::Tar).unwrap();
        let built = std::fs::read(&t).unwrap();
        let files = Arc::new(files);
        for _ in 0..2 {
            let mut got = Vec::new();
            let mut s = std::pin::pin!(tar_stream(src.clone(), files.clone()));
            while let Some(c) = s.next().await {
                got.extend_from_slice(&c.unwrap());
            }
            assert_eq!(got.len(), built.len());
            assert!(got == built, "streamed tar differs from the built one");
        }
        assert_eq!(tar_size(&src, &files).unwrap(), built.len() as u64);
    }
}
