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

use std::collections::{BTreeSet, HashMap};
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
use crate::core::client::{seg, XnatClient};
use crate::core::error::{Error, Result};
use crate::core::progress::Progress;

/// One archive request: a resource of the session, or one resource label across several scans
/// (`…/scans/1,2,3/resources/{label}/files?format=zip`: XNAT takes comma lists of scans on file
/// paths, fidelity spec §7 and §9.3), so a session's archives go out in one round instead of one
/// request per scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The scans whose `label` resource the archive holds; empty for a session resource.
    pub scans: Vec<String>,
    /// Resource label.
    pub label: String,
    /// Indices (into the plan's files) of the covered files that are missing locally.
    pub missing: Vec<usize>,
    /// `(scan, catalog relpath)` → plan index, for every planned file the archive covers.
    pub by_rel: HashMap<(Option<String>, String), usize>,
}

impl Unit {
    /// `…/scans/{ids}/resources/{label}/files` or `…/resources/{label}/files`, for
    /// `?format=zip`.
    pub fn request_path(&self, session_id: &str) -> Result<String> {
        let mut p = format!("/data/experiments/{}", seg(session_id)?);
        if !self.scans.is_empty() {
            let ids = self
                .scans
                .iter()
                .map(|s| seg(s))
                .collect::<Result<Vec<_>>>()?;
            p.push_str(&format!("/scans/{}", ids.join(",")));
        }
        p.push_str(&format!("/resources/{}/files", seg(&self.label)?));
        Ok(p)
    }

    /// `scan 2 DICOM`, `scans 1,2,3 DICOM` or `resource NOTES`, for messages.
    pub fn describe(&self) -> String {
        match self.scans.as_slice() {
            [] => format!("resource {}", self.label),
            [s] => format!("scan {s} {}", self.label),
            many => format!("scans {} {}", many.join(","), self.label),
        }
    }

    /// The scan (of this unit) an archive folder name stands for: `<id>` exactly, else the
    /// longest `<id>-<type>` match (XNAT names scan folders `<id>-<type>`).
    fn scan_of_folder(&self, folder: &str) -> Option<&str> {
        if let Some(s) = self.scans.iter().find(|s| *s == folder) {
            return Some(s);
        }
        self.scans
            .iter()
            .filter(|s| {
                folder
                    .strip_prefix(s.as_str())
                    .is_some_and(|t| t.starts_with('-'))
            })
            .max_by_key(|s| s.len())
            .map(String::as_str)
    }

    /// Map an entry name onto this unit: after the session folder come
    /// `scans/<id>[-<type>]/resources/<label>/files/` (or `resources/<label>/files/`) and the
    /// relpath.
    pub fn entry_path(&self, name: &str) -> EntryPath {
        if name.starts_with('/') || name.contains('\\') {
            return EntryPath::Unsafe;
        }
        let parts: Vec<&str> = name.trim_end_matches('/').split('/').collect();
        if parts.iter().any(|p| {
            p.is_empty() || *p == "." || *p == ".." || p.contains(':') || p.chars().any(|c| c < ' ')
        }) {
            return EntryPath::Unsafe;
        }
        for k in 1..parts.len().saturating_sub(3) {
            if parts[k] != "resources" || parts[k + 1] != self.label || parts[k + 2] != "files" {
                continue;
            }
            let rel = parts[k + 3..].join("/");
            if self.scans.is_empty() {
                if k == 1 {
                    return EntryPath::Rel(None, rel);
                }
            } else if k >= 3 && parts[k - 2] == "scans" {
                if let Some(scan) = self.scan_of_folder(parts[k - 1]) {
                    return EntryPath::Rel(Some(scan.to_string()), rel);
                }
            }
        }
        EntryPath::Foreign
    }
}

/// Where a planned file sits: `(scan, label, relpath)` from its layout path.
pub fn split_layout_path(path: &str) -> Option<(Option<&str>, &str, &str)> {
    let (scan, rest) = match path.strip_prefix("scans/") {
        Some(rest) => {
            let (scan, rest) = rest.split_once('/')?;
            (Some(scan), rest)
        }
        None => (None, path),
    };
    let rest = rest.strip_prefix("resources/")?;
    let (label, rest) = rest.split_once('/')?;
    let rel = rest.strip_prefix("files/")?;
    Some((scan, label, rel))
}

/// Whether a resource with these counts is worth its archive: two or more files missing that
/// make up at least a quarter of its bytes (of its files, when the catalog gives no sizes).
/// Below that, fetching the few missing files costs fewer bytes than re-sending the present ones.
pub fn wants_archive(files: usize, bytes: u64, missing_files: usize, missing_bytes: u64) -> bool {
    if missing_files < 2 {
        return false;
    }
    if bytes > 0 {
        missing_bytes.saturating_mul(4) >= bytes
    } else {
        missing_files * 4 >= files
    }
}

/// Split the missing files into archive units and per-file fetches (plan order kept).
///
/// Each resource decides on its own ([`wants_archive`]); the scan resources that want their
/// archive are then grouped by label into at most about `streams` requests (a comma list of
/// scans each), so every archive starts at once instead of one round of requests per `workers`
/// scans, and a few streams still share the CPU work of parsing, hashing and writing.
pub fn choose(files: &[PlannedFile], missing: &[bool], streams: usize) -> (Vec<Unit>, Vec<usize>) {
    #[derive(Default)]
    struct Tally {
        files: usize,
        bytes: u64,
        missing: Vec<usize>,
        missing_bytes: u64,
        by_rel: HashMap<String, usize>,
    }
    let mut order: Vec<(Option<String>, String)> = Vec::new();
    let mut tallies: HashMap<(Option<String>, String), Tally> = HashMap::new();
    let mut loose = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let Some((scan, label, rel)) = split_layout_path(&f.path) else {
            if missing[i] {
                loose.push(i);
            }
            continue;
        };
        let key = (scan.map(str::to_string), label.to_string());
        let t = tallies.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Tally::default()
        });
        t.files += 1;
        t.bytes += f.size.unwrap_or(0);
        t.by_rel.insert(rel.to_string(), i);
        if missing[i] {
            t.missing.push(i);
            t.missing_bytes += f.size.unwrap_or(0);
        }
    }
    let mut units = Vec::new();
    // label → the scan resources of that label that want their archive, in plan order.
    let mut by_label: Vec<(String, Vec<(String, Tally)>)> = Vec::new();
    for key in order {
        let t = tallies.remove(&key).expect("tallied above");
        if !wants_archive(t.files, t.bytes, t.missing.len(), t.missing_bytes) {
            loose.extend(t.missing);
            continue;
        }
        match key.0 {
            // A scan ID with a comma cannot go into a comma list: an archive of its own.
            Some(scan) if !scan.contains(',') => {
                match by_label.iter_mut().find(|(l, _)| *l == key.1) {
                    Some((_, v)) => v.push((scan, t)),
                    None => by_label.push((key.1, vec![(scan, t)])),
                }
            }
            scan => units.push(Unit {
                by_rel: t
                    .by_rel
                    .into_iter()
                    .map(|(rel, i)| ((scan.clone(), rel), i))
                    .collect(),
                scans: scan.into_iter().collect(),
                label: key.1,
                missing: t.missing,
            }),
        }
    }
    let per_label = streams.max(1).div_ceil(by_label.len().max(1));
    for (label, resources) in by_label {
        // As many requests as streams allow, their sizes differing by at most one scan (10 scans
        // on 4 streams: 3, 3, 2, 2, not 3, 3, 3, 1): the slowest stream sets the end.
        let count = per_label.min(resources.len()).max(1);
        let (base, extra) = (resources.len() / count, resources.len() % count);
        let mut resources = resources.into_iter();
        for k in 0..count {
            let take = base + usize::from(k < extra);
            let mut unit = Unit {
                scans: Vec::new(),
                label: label.clone(),
                missing: Vec::new(),
                by_rel: HashMap::new(),
            };
            for (scan, t) in resources.by_ref().take(take) {
                unit.missing.extend(t.missing);
                unit.by_rel.extend(
                    t.by_rel
                        .into_iter()
                        .map(|(rel, i)| ((Some(scan.clone()), rel), i)),
                );
                unit.scans.push(scan);
            }
            unit.missing.sort_unstable();
            units.push(unit);
        }
    }
    loose.sort_unstable();
    (units, loose)
}

/// How an archive entry name relates to a unit.
#[derive(Debug, PartialEq, Eq)]
pub enum EntryPath {
    /// A file of one of the unit's resources: its scan (`None` for a session resource) and
    /// catalog relpath.
    Rel(Option<String>, String),
    /// Safe, but not a file of this unit.
    Foreign,
    /// Absolute, `..`, a drive or a backslash: never written anywhere.
    Unsafe,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(path: &str, size: u64) -> PlannedFile {
        PlannedFile {
            item: "1".into(),
            uri: "/x".into(),
            path: path.into(),
            size: Some(size),
            digest: None,
        }
    }

    fn unit(scans: &[&str], label: &str) -> Unit {
        Unit {
            scans: scans.iter().map(|s| s.to_string()).collect(),
            label: label.into(),
            missing: vec![],
            by_rel: HashMap::new(),
        }
    }

    #[test]
    fn entries_map_to_the_catalog_by_path() {
        let u = unit(&["2"], "DICOM");
        let rel = |scan: &str, r: &str| EntryPath::Rel(Some(scan.into()), r.into());
        assert_eq!(
            u.entry_path("MR1/scans/2-T1_MPRAGE/resources/DICOM/files/sub/a.dcm"),
            rel("2", "sub/a.dcm")
        );
        assert_eq!(
            u.entry_path("MR1/scans/2/resources/DICOM/files/a.dcm"),
            rel("2", "a.dcm")
        );
        assert_eq!(
            u.entry_path("MR1/scans/21-T1/resources/DICOM/files/a.dcm"),
            EntryPath::Foreign
        );
        assert_eq!(
            u.entry_path("MR1/scans/2-T1/resources/SNAP/files/a.png"),
            EntryPath::Foreign
        );
        for bad in [
            "/etc/passwd",
            "MR1/scans/2/resources/DICOM/files/../../x",
            "MR1\\scans",
            "C:/x",
        ] {
            assert_eq!(u.entry_path(bad), EntryPath::Unsafe, "{bad}");
        }
        assert_eq!(
            unit(&[], "NOTES").entry_path("MR1/resources/NOTES/files/n.txt"),
            EntryPath::Rel(None, "n.txt".into())
        );
        // Several scans in one archive: the exact ID wins, then the longest `<id>-` prefix.
        let u = unit(&["2", "2-b", "3"], "DICOM");
        assert_eq!(
            u.entry_path("MR1/scans/2-b/resources/DICOM/files/a"),
            rel("2-b", "a")
        );
        assert_eq!(
            u.entry_path("MR1/scans/2-b-T1/resources/DICOM/files/a"),
            rel("2-b", "a")
        );
        assert_eq!(
            u.entry_path("MR1/scans/3-T2/resources/DICOM/files/a"),
            rel("3", "a")
        );
        assert_eq!(
            u.entry_path("MR1/scans/4-T2/resources/DICOM/files/a"),
            EntryPath::Foreign
        );
        assert_eq!(
            u.request_path("E1").unwrap(),
            "/data/experiments/E1/scans/2,2-b,3/resources/DICOM/files"
        );
    }

    #[test]
    fn archive_when_many_files_are_missing_per_file_when_few() {
        assert!(wants_archive(100, 100, 100, 100));
        assert!(wants_archive(100, 100, 25, 25));
        assert!(!wants_archive(100, 100, 3, 3));
        assert!(!wants_archive(1, 10, 1, 10));
        assert!(wants_archive(8, 0, 2, 0));
        assert!(!wants_archive(100, 0, 2, 0));
    }

    #[test]
    fn choose_groups_by_resource_and_keeps_few_missing_per_file() {
        let mut files = Vec::new();
        for i in 0..10 {
            files.push(planned(
                &format!("scans/1/resources/DICOM/files/{i}.dcm"),
                10,
            ));
        }
        for i in 0..10 {
            files.push(planned(
                &format!("scans/2/resources/DICOM/files/{i}.dcm"),
                10,
            ));
        }
        files.push(planned("resources/NOTES/files/n.txt", 5));
        let mut missing = vec![true; 10];
        missing.extend([false; 8]);
        missing.extend([true; 2]);
        missing.push(true);
        let (units, loose) = choose(&files, &missing, 4);
        assert_eq!(units.len(), 1);
        assert_eq!(units[0].scans, ["1"]);
        assert_eq!(units[0].missing, (0..10).collect::<Vec<_>>());
        assert_eq!(loose, vec![18, 19, 20]);
        // Everything missing: the two scans' DICOM in one archive with 1 stream, in two with 4;
        // the session resource (one missing file) per file.
        let all = vec![true; files.len()];
        let (units, loose) = choose(&files, &all, 1);
        assert_eq!(units.len(), 1);
        assert_eq!(units[0].scans, ["1", "2"]);
        assert_eq!(units[0].missing, (0..20).collect::<Vec<_>>());
        assert_eq!(units[0].by_rel[&(Some("2".into()), "3.dcm".into())], 13);
        assert_eq!(loose, vec![20]);
        // Ten scans on four streams: 3, 3, 2, 2 scans per request.
        let ten: Vec<PlannedFile> = (1..=10)
            .flat_map(|s| {
                ["a", "b"].map(|f| planned(&format!("scans/{s}/resources/DICOM/files/{f}"), 10))
            })
            .collect();
        let (units, _) = choose(&ten, &[true; 20], 4);
        let sizes: Vec<usize> = units.iter().map(|u| u.scans.len()).collect();
        assert_eq!(sizes, [3, 3, 2, 2]);
        assert_eq!(units[3].scans, ["9", "10"]);
        let (units, _) = choose(&files, &all, 4);
        assert_eq!(units.len(), 2);
        assert_eq!(
            (units[0].scans.clone(), units[1].scans.clone()),
            (vec!["1".to_string()], vec!["2".to_string()])
        );
        assert_eq!(
            split_layout_path("resources/NOTES/files/a/b"),
            Some((None, "NOTES", "a/b"))
        );
    }
}
