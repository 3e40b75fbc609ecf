//! The per-file engine: a bounded worker pool fetching planned files to unique temporary files
//! next to their final names (`staged.rs`), hashing while writing, renaming only complete and
//! verified files, skipping files already
//! present with the right digest, and retrying one file when its connection drops.
//!
//! Where the CPU goes (profiled with `perf`, see docs/downloads.md): MD5 and the kernel's copy
//! into the page cache dominate. Each file therefore runs as its own task, and its body chunks
//! go over a short channel to a blocking thread that owns a `std::fs::File` behind a large
//! buffer and hashes as it writes, so hashing and writing of several files use every core while
//! the async threads only move network buffers.

use std::collections::{BTreeSet, VecDeque};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use md5::{Digest, Md5};
use reqwest::Method;
use tokio_util::sync::CancellationToken;

use super::archive;
use super::manifest::Manifest;
use super::plan::{DownloadPlan, PlannedFile};
use super::staged::{sweep_temp_files, Expected, Staged, Written};
use super::stall::Watchdog;
use crate::core::client::XnatClient;
use crate::core::error::{Error, Result};
use crate::core::progress::Progress;

/// Body chunks queued between the network task and the writer thread of one file.
pub(super) const CHANNEL_DEPTH: usize = 16;
/// Write buffer of one file (few large `write` calls instead of one per network chunk).
pub(super) const WRITE_BUFFER: usize = 128 * 1024;

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Files fetched at the same time.
    pub workers: usize,
    /// Attempts per file (the client's own retries come on top, before the body starts).
    pub attempts: u32,
    /// Where resume manifests live (see `manifest.rs`); `None` hashes every present file.
    pub manifest_dir: Option<PathBuf>,
    /// A transfer that moves fewer than [`super::stall::STALL_MIN_BYTES`] in this long is abandoned (and
    /// retried like a broken one): a server dripping a byte now and then never trips the
    /// client's read timeout.
    pub stall_after: Duration,
    /// Remove temporary files a killed run left in the planned folders. Set it only while
    /// holding the session's [`super::SessionLock`]: without it they may be another run's.
    pub sweep_leftovers: bool,
    /// Stream resources with many missing files as one archive each (see `archive.rs`);
    /// `false` fetches every file on its own.
    pub archives: bool,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStatus {
    /// Fetched now, this many bytes.
    Downloaded(u64),
    /// Already present with the catalog's digest (or size, when there is no digest).
    UpToDate,
    /// Could not be fetched.
    Failed(String),
    /// Not attempted or abandoned because the run was cancelled.
    Cancelled,
}

/// The result of [`execute`]: one status per planned file, in plan order.
#[derive(Debug, Clone)]
pub struct ExecReport {
    /// `(file, status)` pairs.
    pub files: Vec<(PlannedFile, FileStatus)>,
    /// The run was cancelled.
    pub cancelled: bool,
    /// Things the user should know (an archive refused, entries the catalog does not list).
    pub notices: Vec<String>,
    /// Archive entries refused for their unsafe names.
    pub skipped_unsafe: usize,
    /// The run stopped because the server refused the credentials (session expired and not
    /// renewable): why. Files not done then are `Cancelled`.
    pub auth_failed: Option<String>,
}

impl ExecReport {
    /// Bytes transferred.
    pub fn bytes(&self) -> u64 {
        self.files
            .iter()
            .map(|(_, s)| match s {
                FileStatus::Downloaded(n) => *n,
                _ => 0,
            })
            .sum()
    }

    /// Files present and verified locally after the run.
    pub fn complete(&self) -> usize {
        self.files
            .iter()
            .filter(|(_, s)| matches!(s, FileStatus::Downloaded(_) | FileStatus::UpToDate))
            .count()
    }
}

fn md5_of_file_blocking(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// MD5 of a local file, lowercase hex (blocking read in a worker thread).
pub async fn md5_of_file(path: &Path) -> std::io::Result<String> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || md5_of_file_blocking(&path))
        .await
        .map_err(std::io::Error::other)?
}

/// Whether `dest` already holds `f`: size first, then the sidecar manifest, then (when the
/// manifest does not vouch for it) the MD5 against the catalog, recording a match.
fn up_to_date(dest: &Path, f: &PlannedFile, manifest: &Manifest) -> bool {
    let Ok(meta) = std::fs::metadata(dest) else {
        return false;
    };
    if !meta.is_file() || f.size.is_some_and(|s| s != meta.len()) {
        return false;
    }
    match &f.digest {
        Some(d) if manifest.vouches_for(&f.path, &meta, d) => true,
        Some(d) => {
            let ok = md5_of_file_blocking(dest).is_ok_and(|m| &m == d);
            if ok {
                manifest.record(&f.path, &meta, d);
            }
            ok
        }
        // Without a digest only the size can be compared; a catalog without sizes either
        // forces a fresh copy.
        None => f.size.is_some(),
    }
}

/// The writer thread of one file: drains the channel into `file` through a large buffer,
/// hashing every chunk; returns the byte count and MD5 once the sender is gone.
pub(super) fn write_part(
    file: std::fs::File,
    mut rx: tokio::sync::mpsc::Receiver<Bytes>,
) -> std::io::Result<Written> {
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut hasher = Md5::new();
    let mut written = 0u64;
    while let Some(chunk) = rx.blocking_recv() {
        // Hash first: the chunk is then still in the CPU cache when it is copied out.
        hasher.update(&chunk);
        out.write_all(&chunk)?;
        written += chunk.len() as u64;
    }
    out.flush()?;
    Ok(Written {
        bytes: written,
        md5: hex::encode(hasher.finalize()),
    })
}

async fn fetch_once(
    client: &XnatClient,
    f: &PlannedFile,
    dest: &Path,
    progress: &dyn Progress,
    manifest: &Manifest,
    stall_after: Duration,
) -> Result<u64> {
    let resp = client.request(Method::GET, &f.uri).send().await?;
    // Created here, after the response started, and removed when `staged` is dropped: on any
    // failure below and on cancellation (the future is dropped). The writer thread only gets the
    // open file, so it can never create a path after the drop removed it.
    let (file, staged) = Staged::create(dest)
        .map_err(|e| Error::io(format!("writing next to {}", dest.display()), e))?;
    let ctx = || format!("writing {}", staged.path().display());
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(CHANNEL_DEPTH);
    let writer = tokio::task::spawn_blocking(move || write_part(file, rx));
    let mut received = 0u64;
    let mut broken = None;
    let mut body = resp.bytes_stream();
    let mut watchdog = Watchdog::new(stall_after);
    loop {
        let next = match watchdog.next(&mut body).await {
            Ok(next) => next,
            Err(why) => {
                broken = Some(Error::Timeout(format!(
                    "{}: {why} after {received} bytes",
                    f.path
                )));
                break;
            }
        };
        let Some(chunk) = next else { break };
        match chunk {
            Ok(chunk) => {
                let n = chunk.len() as u64;
                if tx.send(chunk).await.is_err() {
                    // The writer stopped: its error is reported below.
                    break;
                }
                received += n;
                progress.advance(n);
            }
            Err(e) => {
                broken = Some(Error::Download(format!(
                    "{}: connection lost after {received} bytes: {e}",
                    f.path
                )));
                break;
            }
        }
    }
    drop(tx);
    // Wait for the writer even after a broken body, so the file is closed before `staged`
    // removes it.
    let written = writer
        .await
        .map_err(|e| Error::io(ctx(), std::io::Error::other(e)))?;
    if let Some(e) = broken {
        return Err(e);
    }
    let written = written.map_err(|e| Error::io(ctx(), e))?;
    staged.commit(
        &written,
        &Expected {
            name: &f.path,
            size: f.size,
            md5: f.digest.as_deref(),
        },
    )?;
    if let (Some(d), Ok(meta)) = (&f.digest, std::fs::metadata(dest)) {
        manifest.record(&f.path, &meta, d);
    }
    Ok(written.bytes)
}

/// Failures worth another attempt at the same file: the transfer broke or arrived damaged.
fn worth_retrying(e: &Error) -> bool {
    matches!(
        e,
        Error::Download(_)
            | Error::Verification(_)
            | Error::Network(_)
            | Error::Timeout(_)
            | Error::RetryExhausted { .. }
            | Error::Http { .. }
    )
}

/// Whether the file at its final name is already complete (see [`up_to_date`]), off the async
/// threads.
async fn is_present(root: &Path, f: &PlannedFile, manifest: &Arc<Manifest>) -> bool {
    let (dest, f, manifest) = (root.join(&f.path), f.clone(), Arc::clone(manifest));
    tokio::task::spawn_blocking(move || up_to_date(&dest, &f, &manifest))
        .await
        .unwrap_or(false)
}

/// Fetch one missing file on its own, retrying a broken or damaged transfer.
/// Stops the whole run at the first file refused for its credentials: once the session has
/// expired and cannot be renewed, every further request would be another 401.
#[derive(Debug, Default)]
struct AuthStop {
    stop: CancellationToken,
    why: std::sync::Mutex<Option<String>>,
}

impl AuthStop {
    fn trip(&self, e: &Error) {
        if matches!(e, Error::SessionExpired(_) | Error::Auth(_)) {
            let mut why = self.why.lock().unwrap_or_else(|p| p.into_inner());
            why.get_or_insert_with(|| e.to_string());
            self.stop.cancel();
        }
    }
}

async fn fetch_file(
    client: &XnatClient,
    root: &Path,
    f: &PlannedFile,
    opts: &ExecOptions,
    progress: &dyn Progress,
    manifest: &Arc<Manifest>,
    auth: &AuthStop,
) -> FileStatus {
    let dest = root.join(&f.path);
    if let Some(dir) = dest.parent() {
        if let Err(e) = tokio::fs::create_dir_all(dir).await {
            return FileStatus::Failed(
                Error::io(format!("creating {}", dir.display()), e).to_string(),
            );
        }
    }
    let mut attempt = 1;
    loop {
        progress.begin(&f.path, f.size);
        let r = fetch_once(client, f, &dest, progress, manifest, opts.stall_after).await;
        progress.finish(&f.path);
        match r {
            Ok(n) => return FileStatus::Downloaded(n),
            Err(e) if attempt < opts.attempts && worth_retrying(&e) => {
                tracing::info!(file = %f.path, attempt, error = %e, "retrying file");
                attempt += 1;
            }
            Err(e) => {
                auth.trip(&e);
                return FileStatus::Failed(e.to_string());
            }
        }
    }
}

/// One piece of work on the pool.
enum Task {
    Archive(archive::Unit),
    File(usize),
}

/// What a finished task reports.
enum Finished {
    Archive(archive::Unit, archive::Outcome),
    File(usize, FileStatus),
}

/// Fetch every missing planned file on `opts.workers` workers: first check which files are
/// already complete, then stream the archive of each resource that misses many files and fetch
/// the rest (and whatever an archive did not deliver verified) one by one. Cancelling `cancel`
/// stops the workers, removes their temporary files and marks unfinished files
/// [`FileStatus::Cancelled`].
pub async fn execute(
    client: &XnatClient,
    plan: &DownloadPlan,
    opts: ExecOptions,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> ExecReport {
    tracing::debug!(
        event = "plan_ready",
        files = plan.files.len(),
        at_ms = crate::core::client::clock_ms(),
        "planned {} files",
        plan.files.len()
    );
    let root = plan.session_dir.as_path();
    let manifest = Arc::new(match &opts.manifest_dir {
        Some(dir) => Manifest::load(Manifest::path_for(dir, root)),
        None => Manifest::disabled(),
    });
    if opts.sweep_leftovers {
        let dirs: BTreeSet<PathBuf> = plan
            .files
            .iter()
            .filter_map(|f| root.join(&f.path).parent().map(Path::to_path_buf))
            .collect();
        let removed: usize = dirs.iter().map(|d| sweep_temp_files(d)).sum();
        if removed > 0 {
            tracing::info!(removed, "removed temporary files of an interrupted run");
        }
    }
    let opts = &opts;
    let manifest = &manifest;
    let auth = AuthStop {
        stop: cancel.child_token(),
        why: Default::default(),
    };
    let auth = &auth;
    // Ctrl-C, or a session that can no longer be renewed.
    let stop = &auth.stop;
    let mut statuses: Vec<FileStatus> = vec![FileStatus::Cancelled; plan.files.len()];
    let mut notices = Vec::new();
    let mut skipped_unsafe = 0;

    // Which files are already here decides between archives and single files.
    let mut checks = futures::stream::iter(plan.files.iter().enumerate())
        .map(|(i, f)| async move { (i, is_present(root, f, manifest).await) })
        .buffer_unordered(opts.workers.max(1));
    let mut missing = vec![false; plan.files.len()];
    loop {
        let next = tokio::select! {
            biased;
            _ = cancel.cancelled() => None,
            n = checks.next() => n,
        };
        let Some((i, present)) = next else { break };
        if present {
            progress.advance(plan.files[i].size.unwrap_or(0));
            statuses[i] = FileStatus::UpToDate;
        } else {
            missing[i] = true;
        }
    }
    drop(checks);

    tracing::debug!(
        event = "presence_checked",
        missing = missing.iter().filter(|m| **m).count(),
        at_ms = crate::core::client::clock_ms(),
        "checked the files already present"
    );
    let (units, loose) = if opts.archives {
        archive::choose(&plan.files, &missing, opts.workers)
    } else {
        (
            Vec::new(),
            (0..plan.files.len()).filter(|i| missing[*i]).collect(),
        )
    };
    let mut queue: VecDeque<Task> = units.into_iter().map(Task::Archive).collect();
    queue.extend(loose.into_iter().map(Task::File));
    let mut archives_refused = false;
    let mut running = futures::stream::FuturesUnordered::new();
    let session_id = plan.session.id.as_str();
    // Archives are few (about `workers` of them, see `archive::choose`) and all start at once:
    // on a real server each costs a round trip before its first byte. `workers` bounds the
    // single-file requests.
    let mut files_running = 0usize;
    loop {
        while !stop.is_cancelled() {
            let Some(task) = queue.pop_front() else { break };
            if matches!(task, Task::File(_)) && files_running >= opts.workers.max(1) {
                queue.push_front(task);
                break;
            }
            if matches!(task, Task::File(_)) {
                files_running += 1;
            }
            let fut: std::pin::Pin<Box<dyn std::future::Future<Output = Finished> + Send + '_>> =
                match task {
                    Task::Archive(unit) if archives_refused => {
                        queue.extend(unit.missing.iter().map(|i| Task::File(*i)));
                        continue;
                    }
                    Task::Archive(unit) => Box::pin(async move {
                        let out = archive::fetch(
                            client,
                            session_id,
                            root,
                            &plan.files,
                            &unit,
                            progress,
                            manifest,
                            opts.stall_after,
                        )
                        .await;
                        Finished::Archive(unit, out)
                    }),
                    Task::File(i) => Box::pin(async move {
                        let s = fetch_file(
                            client,
                            root,
                            &plan.files[i],
                            opts,
                            progress,
                            manifest,
                            auth,
                        )
                        .await;
                        Finished::File(i, s)
                    }),
                };
            running.push(fut);
        }
        let next = tokio::select! {
            biased;
            _ = stop.cancelled() => None,
            n = running.next() => n,
        };
        let Some(finished) = next else { break };
        match finished {
            Finished::File(i, s) => {
                files_running -= 1;
                statuses[i] = s;
            }
            Finished::Archive(unit, out) => {
                for (i, n) in &out.done {
                    statuses[*i] = FileStatus::Downloaded(*n);
                }
                if let Some(why) = &out.refused {
                    if !archives_refused {
                        notices.push(format!(
                            "the server did not serve the archive of {} ({why}); fetching files one by one",
                            unit.describe()
                        ));
                    }
                    archives_refused = true;
                }
                for name in out.foreign.iter().take(5) {
                    notices.push(format!(
                        "the archive of {} holds {name}, which its catalog does not list; skipped",
                        unit.describe()
                    ));
                }
                if out.foreign.len() > 5 {
                    notices.push(format!(
                        "… and {} more entries of {} not in its catalog",
                        out.foreign.len() - 5,
                        unit.describe()
                    ));
                }
                skipped_unsafe += out.unsafe_entries;
                queue.extend(out.leftover.into_iter().map(Task::File));
            }
        }
    }
    drop(running);
    tracing::debug!(
        event = "transfers_done",
        at_ms = crate::core::client::clock_ms(),
        "every transfer finished"
    );
    let auth_failed = auth.why.lock().unwrap_or_else(|p| p.into_inner()).take();
    ExecReport {
        files: plan.files.iter().cloned().zip(statuses).collect(),
        cancelled: cancel.is_cancelled(),
        notices,
        skipped_unsafe,
        auth_failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_the_catalog_digest_is_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello").unwrap();
        let mut f = PlannedFile {
            item: "1".into(),
            uri: "/x".into(),
            path: "f".into(),
            size: Some(5),
            digest: Some("5d41402abc4b2a76b9719d911017c592".into()),
        };
        let m = Manifest::disabled();
        assert!(up_to_date(&p, &f, &m));
        f.digest = Some("00".into());
        assert!(!up_to_date(&p, &f, &m));
        f.digest = None;
        f.size = Some(4);
        assert!(!up_to_date(&p, &f, &m));
    }
}
