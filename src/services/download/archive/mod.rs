//! Archive streaming: one request per resource instead of one per file.
//!
//! A real XNAT answers every request slowly (authentication, loading the resource's catalog, the
//! network's round trip), and MR sessions hold thousands of files. So a resource with many
//! missing files is fetched as XNAT's zip (`…/resources/{label}/files?format=zip`), parsed as it
//! arrives (`zipstream.rs`, nothing of the zip is stored), and each entry is written through the
//! same temporary file → check (bytes and MD5 against the catalog) → rename path as a per-file
//! download (`staged.rs`). Entries map to the catalog by their path: XNAT's folders are
//! `<session>/scans/<id>-<type>/resources/<label>/files/<relpath>` and
//! `<session>/resources/<label>/files/<relpath>`.
//!
//! Whatever the archive did not deliver verified (a reset mid-stream, an entry whose bytes differ
//! from the catalog, an entry missing from the zip) is fetched again per file, and only that.

mod unit;

pub use unit::{choose, EntryPath, Unit};

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::Method;

use super::engine::{write_part, CHANNEL_DEPTH, WRITE_BUFFER};
use super::manifest::Manifest;
use super::plan::PlannedFile;
use super::staged::{Expected, Staged, Written};
use super::zipstream::{Event, ZipStream};
use crate::core::client::XnatClient;
use crate::core::error::{Error, Result};
use crate::core::progress::Progress;

/// What one archive did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Files written and verified: plan index and bytes.
    pub done: Vec<(usize, u64)>,
    /// Missing files the archive did not deliver verified: to fetch per file.
    pub leftover: Vec<usize>,
    /// The server would not give the archive (error before any entry): why.
    pub refused: Option<String>,
    /// Entries the catalog does not list (skipped).
    pub foreign: Vec<String>,
    /// Entries with unsafe names (skipped).
    pub unsafe_entries: usize,
}

/// The entry being written: its temporary file and writer thread.
struct Writing {
    idx: usize,
    staged: Staged,
    tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
    writer: tokio::task::JoinHandle<std::io::Result<Wrote>>,
}

/// What an entry's writer thread did.
enum Wrote {
    /// Wrote and hashed the bytes (an entry without a catalog digest, or no vector MD5 here).
    Hashed(Written),
    /// Wrote this many bytes only (the file is closed): they are hashed afterwards, with other
    /// entries' (`md5x`).
    Unhashed(u64),
}

/// The writer thread of an entry whose MD5 is computed afterwards: drains the channel into
/// `file` through a large buffer and hands the file back with the byte count.
fn write_unhashed(
    file: std::fs::File,
    mut rx: tokio::sync::mpsc::Receiver<Bytes>,
) -> std::io::Result<Wrote> {
    let mut out = std::io::BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut written = 0u64;
    while let Some(chunk) = rx.blocking_recv() {
        out.write_all(&chunk)?;
        written += chunk.len() as u64;
    }
    out.flush()?;
    Ok(Wrote::Unhashed(written))
}

/// An entry written in full (and closed) whose MD5 is yet to be computed, with others'.
struct Unchecked {
    idx: usize,
    staged: Staged,
    bytes: u64,
}

/// A temporary file read back for its MD5, opened only when its lane reaches it (so a batch holds
/// at most one descriptor per lane). A symbolic link put in its place is refused; a swap after
/// this check gains nothing the rename by path would not already give (the bytes read are only
/// compared with the catalog's digest).
struct ReadBack {
    path: std::path::PathBuf,
    file: Option<std::fs::File>,
}

impl std::io::Read for ReadBack {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.file.is_none() {
            if !std::fs::symlink_metadata(&self.path)?.file_type().is_file() {
                return Err(std::io::Error::other(
                    "the temporary file was replaced by something else",
                ));
            }
            self.file = Some(std::fs::File::open(&self.path)?);
        }
        let file = self.file.as_mut().expect("opened above");
        std::io::Read::read(file, buf)
    }
}

/// Why the stream stopped early.
enum Stop {
    /// Nothing usable arrived: the server does not serve this archive.
    Refused(String),
    /// Broke after some entries.
    Broken(String),
}

/// Entries (or batches of entries) that may still be finishing while the stream goes on.
const FINISHING: usize = 4;

/// A finishing step's outcome per entry: checked (renamed, or why not), or written and waiting
/// for its MD5.
enum Settled {
    Checked(usize, Result<u64>),
    Unchecked(Unchecked),
    /// A batch's hashing ended (after its entries' `Checked`).
    BatchDone,
}

/// The entries and batches being finished (see [`finish_entry`], [`check_batch`]).
type Finishing<'a> = futures::stream::FuturesUnordered<
    std::pin::Pin<Box<dyn std::future::Future<Output = Vec<Settled>> + Send + 'a>>,
>;

/// Rename a checked entry into place and record it in the resume manifest, or say why not.
fn commit_entry(
    staged: Staged,
    written: Result<Written>,
    f: &PlannedFile,
    root: &Path,
    manifest: &Manifest,
) -> Result<u64> {
    let checked = written.and_then(|written| {
        staged
            .commit(
                &written,
                &Expected {
                    name: &f.path,
                    size: f.size,
                    md5: f.digest.as_deref(),
                },
            )
            .map(|()| written.bytes)
    });
    match &checked {
        Ok(_) => {
            if let (Some(d), Ok(meta)) = (&f.digest, std::fs::metadata(root.join(&f.path))) {
                manifest.record(&f.path, &meta, d);
            }
        }
        // Not renamed into place: fetched again on its own (leftover).
        Err(e) => tracing::info!(file = %f.path, error = %e, "archive entry rejected"),
    }
    checked
}

/// Wait for an entry's writer thread; an entry it hashed is checked (CRC from the zip, size and
/// MD5 from the catalog) and renamed into place, one it only wrote waits for its batch.
async fn finish_entry(
    w: Writing,
    crc_ok: bool,
    files: &[PlannedFile],
    root: &Path,
    manifest: &Manifest,
) -> Vec<Settled> {
    let f = &files[w.idx];
    let written = match w.writer.await {
        Ok(Ok(Wrote::Unhashed(bytes))) if crc_ok => {
            return vec![Settled::Unchecked(Unchecked {
                idx: w.idx,
                staged: w.staged,
                bytes,
            })];
        }
        Ok(Ok(Wrote::Hashed(written))) if crc_ok => Ok(written),
        Ok(Ok(_)) => Err(Error::Download(format!(
            "{}: archive entry CRC mismatch",
            f.path
        ))),
        Ok(Err(e)) => Err(Error::io("writing an archive entry", e)),
        Err(e) => Err(Error::io(
            "writing an archive entry",
            std::io::Error::other(e),
        )),
    };
    vec![Settled::Checked(
        w.idx,
        commit_entry(w.staged, written, f, root, manifest),
    )]
}

/// Compute the MD5s of a batch of written entries side by side (reading each back through its
/// descriptor, from the page cache), then check and rename each.
async fn check_batch(
    batch: Vec<Unchecked>,
    files: &[PlannedFile],
    root: &Path,
    manifest: &Manifest,
) -> Vec<Settled> {
    let mut readers = Vec::with_capacity(batch.len());
    let mut rest = Vec::with_capacity(batch.len());
    for u in batch {
        readers.push(ReadBack {
            path: u.staged.path().to_path_buf(),
            file: None,
        });
        rest.push((u.idx, u.staged, u.bytes));
    }
    // Each file is closed when its lane is done, before any rename.
    let sums = tokio::task::spawn_blocking(move || super::md5x::md5_many(readers))
        .await
        .unwrap_or_default();
    let mut sums = sums.into_iter();
    rest.into_iter()
        .map(|(idx, staged, bytes)| {
            let f = &files[idx];
            let written = match sums.next() {
                Some(Ok((n, md5))) if n == bytes => Ok(Written { bytes, md5 }),
                Some(Ok((n, _))) => Err(Error::Download(format!(
                    "{}: wrote {bytes} bytes but read back {n}",
                    f.path
                ))),
                Some(Err(e)) => Err(Error::io("reading back an archive entry", e)),
                None => Err(Error::io(
                    "reading back an archive entry",
                    std::io::Error::other("not hashed"),
                )),
            };
            Settled::Checked(idx, commit_entry(staged, written, f, root, manifest))
        })
        .chain([Settled::BatchDone])
        .collect()
}

/// What [`fetch`] keeps while entries finish beside the stream.
struct Finish<'a> {
    files: &'a [PlannedFile],
    root: &'a Path,
    manifest: &'a Manifest,
    running: Finishing<'a>,
    /// Written entries waiting for their MD5: hashed once a batch fills the lanes and the
    /// previous batch is done (one batch hashing at a time per archive; the next one grows
    /// meanwhile, holding no descriptor).
    batch: Vec<Unchecked>,
    lanes: usize,
    hashing: bool,
    done: BTreeSet<usize>,
}

impl<'a> Finish<'a> {
    fn settle(&mut self, settled: Vec<Settled>, out: &mut Outcome) {
        for s in settled {
            match s {
                Settled::Checked(idx, Ok(bytes)) => {
                    self.done.insert(idx);
                    out.done.push((idx, bytes));
                }
                Settled::Checked(_, Err(_)) => {}
                Settled::Unchecked(u) => self.batch.push(u),
                Settled::BatchDone => self.hashing = false,
            }
            if !self.hashing && self.batch.len() >= self.lanes {
                self.check_batch();
            }
        }
    }

    /// Start hashing the waiting entries.
    fn check_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        self.hashing = true;
        let (files, root, manifest) = (self.files, self.root, self.manifest);
        self.running
            .push(Box::pin(check_batch(batch, files, root, manifest)));
    }

    /// Add a finishing step, first waiting for an earlier one when enough are under way.
    async fn push(
        &mut self,
        step: std::pin::Pin<Box<dyn std::future::Future<Output = Vec<Settled>> + Send + 'a>>,
        out: &mut Outcome,
    ) {
        if self.running.len() >= FINISHING {
            if let Some(r) = self.running.next().await {
                self.settle(r, out);
            }
        }
        self.running.push(step);
    }

    /// Finish everything: the entries under way, then the last, partial batch.
    async fn drain(&mut self, out: &mut Outcome) {
        loop {
            while let Some(r) = self.running.next().await {
                self.settle(r, out);
            }
            if self.batch.is_empty() {
                break;
            }
            self.check_batch();
        }
    }
}

/// Fetch one unit's archive, writing every missing file it holds (see the module docs).
#[allow(clippy::too_many_arguments)]
pub async fn fetch(
    client: &XnatClient,
    session_id: &str,
    root: &Path,
    files: &[PlannedFile],
    unit: &Unit,
    progress: &dyn Progress,
    manifest: &Manifest,
    stall_after: std::time::Duration,
) -> Outcome {
    let mut out = Outcome::default();
    let wanted: BTreeSet<usize> = unit.missing.iter().copied().collect();
    let mut finish = Finish {
        files,
        root,
        manifest,
        running: Finishing::new(),
        batch: Vec::new(),
        lanes: super::md5x::lanes(),
        hashing: false,
        done: BTreeSet::new(),
    };
    let stop = run(
        client,
        session_id,
        root,
        files,
        unit,
        &wanted,
        &mut finish,
        &mut out,
        progress,
        stall_after,
    )
    .await;
    tracing::debug!(
        event = "archive_stream_end",
        unit = %unit.describe(),
        at_ms = crate::core::client::clock_ms(),
        "archive of {} read to its end",
        unit.describe()
    );
    // Also after a broken stream: the entries that did arrive whole still count.
    finish.drain(&mut out).await;
    tracing::debug!(
        event = "archive_done",
        unit = %unit.describe(),
        files = out.done.len(),
        at_ms = crate::core::client::clock_ms(),
        "archive of {}: {} files verified and renamed",
        unit.describe(),
        out.done.len()
    );
    match stop {
        Ok(()) => {}
        Err(Stop::Refused(why)) => out.refused = Some(why),
        Err(Stop::Broken(why)) => {
            tracing::info!(unit = %unit.describe(), error = %why, "archive stream broke; fetching the rest per file");
        }
    }
    out.leftover = wanted.difference(&finish.done).copied().collect();
    out
}

#[allow(clippy::too_many_arguments)]
async fn run<'a>(
    client: &XnatClient,
    session_id: &str,
    root: &'a Path,
    files: &'a [PlannedFile],
    unit: &Unit,
    wanted: &BTreeSet<usize>,
    finish: &mut Finish<'a>,
    out: &mut Outcome,
    progress: &dyn Progress,
    stall_after: std::time::Duration,
) -> std::result::Result<(), Stop> {
    let path = unit
        .request_path(session_id)
        .map_err(|e| Stop::Refused(e.to_string()))?;
    let resp = client
        .request(Method::GET, &path)
        .query("format", "zip")
        .send()
        .await
        .map_err(|e| match e {
            // The way there broke, not the server's answer: worth per-file requests for this
            // unit, not a verdict on archives.
            Error::Network(_) | Error::Timeout(_) => Stop::Broken(e.to_string()),
            _ => Stop::Refused(e.to_string()),
        })?;
    tracing::debug!(
        event = "archive_headers",
        unit = %unit.describe(),
        at_ms = crate::core::client::clock_ms(),
        "archive of {} answered",
        unit.describe()
    );
    let mut body = resp.bytes_stream();
    let mut zip = ZipStream::new();
    let mut current: Option<Writing> = None;
    let mut entries = 0usize;
    let mut received = 0u64;
    let stop = |entries: usize, why: String| {
        if entries == 0 {
            Stop::Refused(why)
        } else {
            Stop::Broken(why)
        }
    };
    let mut started: BTreeSet<usize> = BTreeSet::new();
    let mut watchdog = super::stall::Watchdog::new(stall_after);
    while let Some(chunk) = watchdog
        .next(&mut body)
        .await
        .map_err(|why| Stop::Broken(format!("{why} after {received} bytes")))?
    {
        let chunk = chunk
            .map_err(|e| Stop::Broken(format!("connection lost after {received} bytes: {e}")))?;
        received += chunk.len() as u64;
        zip.feed(chunk);
        loop {
            let ev = match zip.next_event() {
                Ok(Some(ev)) => ev,
                Ok(None) => break,
                Err(e) => return Err(stop(entries, e.to_string())),
            };
            match ev {
                Event::Entry(h) => {
                    if entries == 0 {
                        tracing::debug!(
                            event = "archive_first_entry",
                            unit = %unit.describe(),
                            at_ms = crate::core::client::clock_ms(),
                            "archive of {}: first entry",
                            unit.describe()
                        );
                    }
                    entries += 1;
                    // The CRC is checked only for an entry written below without a catalog
                    // digest; the bytes of every other entry are never looked at.
                    zip.skip_crc();
                    if h.is_dir {
                        continue;
                    }
                    let idx = match unit.entry_path(&h.name) {
                        EntryPath::Unsafe => {
                            out.unsafe_entries += 1;
                            continue;
                        }
                        EntryPath::Foreign => {
                            out.foreign.push(h.name);
                            continue;
                        }
                        EntryPath::Rel(scan, rel) => match unit.by_rel.get(&(scan, rel)) {
                            Some(i) => *i,
                            None => {
                                out.foreign.push(h.name);
                                continue;
                            }
                        },
                    };
                    // Present and verified already, or a duplicate entry: leave the file alone.
                    if !wanted.contains(&idx) || !started.insert(idx) {
                        continue;
                    }
                    let f = &files[idx];
                    let dest = root.join(&f.path);
                    if let Some(dir) = dest.parent() {
                        if let Err(e) = std::fs::create_dir_all(dir) {
                            tracing::info!(file = %f.path, error = %e, "cannot create its folder");
                            continue;
                        }
                    }
                    let (file, staged) = match Staged::create(&dest) {
                        Ok(x) => x,
                        Err(e) => {
                            tracing::info!(file = %f.path, error = %e, "cannot stage");
                            continue;
                        }
                    };
                    if f.digest.is_none() {
                        // Without the catalog's MD5, the zip's CRC is the only check of the bytes.
                        zip.check_crc();
                    }
                    progress.begin(&f.path, f.size);
                    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(CHANNEL_DEPTH);
                    // With a catalog digest and vector MD5, the bytes are hashed afterwards,
                    // several entries at once (`md5x`); else while they are written.
                    let later = f.digest.is_some() && finish.lanes > 1;
                    let writer = tokio::task::spawn_blocking(move || {
                        if later {
                            write_unhashed(file, rx)
                        } else {
                            write_part(file, rx).map(Wrote::Hashed)
                        }
                    });
                    current = Some(Writing {
                        idx,
                        staged,
                        tx: Some(tx),
                        writer,
                    });
                }
                Event::Data(d) => {
                    if let Some(w) = current.as_mut() {
                        let n = d.len() as u64;
                        let sent = match &w.tx {
                            Some(tx) => tx.send(d).await.is_ok(),
                            None => false,
                        };
                        if !sent {
                            // The writer failed; its error surfaces at the entry's end.
                            w.tx = None;
                        }
                        progress.advance(n);
                    }
                }
                Event::End {
                    crc, computed_crc, ..
                } => {
                    let Some(mut w) = current.take() else {
                        continue;
                    };
                    w.tx = None;
                    progress.finish(&files[w.idx].path);
                    // The writer thread may still be hashing and writing the entry's last
                    // chunks: finish it alongside the next entries rather than stall the stream
                    // (a few at a time, to bound the open files and queued chunks).
                    finish
                        .push(
                            Box::pin(finish_entry(
                                w,
                                computed_crc.is_none_or(|c| c == crc),
                                files,
                                root,
                                finish.manifest,
                            )),
                            out,
                        )
                        .await;
                }
                Event::Finished => {}
            }
        }
    }
    if let Some(w) = current.take() {
        progress.finish(&files[w.idx].path);
        drop(w.tx);
        let _ = w.writer.await;
        return Err(stop(entries, "the archive ended inside an entry".into()));
    }
    if !zip.is_finished() {
        return Err(stop(entries, "the archive ended early".into()));
    }
    Ok(())
}
