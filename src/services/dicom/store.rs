//! `session upload-dicom`: a storage SCU on dicom-ul.
//!
//! One C-ECHO association proves host, port and AE titles first. The files' meta groups give
//! the presentation contexts to propose (one per SOP class and transfer syntax, plus the Siemens
//! CSA non-image context the reference always proposes, and per SOP class one context offering
//! the uncompressed syntaxes); then `workers` associations take files from one shared queue.
//! Each data set is sent exactly as it is stored in the file (no re-encoding), so a receiver
//! writes byte-identical data sets, unless the peer takes the file's SOP class only in another
//! syntax: then an uncompressed file is converted between the uncompressed syntaxes with
//! dicom-rs, and a compressed one fails, saying so (nothing is decompressed). A file whose context the peer
//! rejected, or that it refuses with a failure status, is a per-file failure; an association
//! that drops is re-established and the file in flight is sent once more.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dicom_ul::association::client::{AsyncClientAssociation, AsyncTlsStream};
use dicom_ul::pdu::{PDataValue, PDataValueType, PresentationContextResultReason};
use dicom_ul::{ClientAssociationOptions, Pdu};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::dimse;
use super::layout::{self, Layout};
use crate::core::output::Row;
use crate::core::progress::Progress;
use crate::core::{Error, Result};

/// The Siemens CSA Non-Image Storage class the reference proposes on every association.
pub const CSA_NON_IMAGE_STORAGE: &str = "1.3.12.2.1107.5.9.1";
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
/// The syntaxes an uncompressed file may be converted to, in order of preference; never Big
/// Endian (see where the conversion contexts are built).
const CONVERSION_TARGETS: [&str; 2] = [EXPLICIT_LE, IMPLICIT_LE];
/// Bytes read to find a file's meta group (the group itself is a few hundred bytes).
const HEAD_BYTES: usize = 64 * 1024;
/// Re-establishments of a dropped association per worker.
const RECONNECTS: usize = 3;
/// Presentation context IDs are odd numbers 1..=255.
const MAX_CONTEXTS: usize = 128;

/// Where and how to send.
#[derive(Clone)]
pub struct Peer {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The receiver's AE title.
    pub called_aet: String,
    /// Ours.
    pub calling_aet: String,
    /// TLS client configuration (`None`: plaintext).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Connect and response timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("called_aet", &self.called_aet)
            .field("calling_aet", &self.calling_aet)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Peer {
    fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn options(&self) -> ClientAssociationOptions<'static> {
        let mut o = ClientAssociationOptions::new()
            .calling_ae_title(self.calling_aet.clone())
            .called_ae_title(self.called_aet.clone())
            .connection_timeout(self.timeout)
            .read_timeout(self.timeout)
            .write_timeout(self.timeout);
        if let Some(tls) = &self.tls {
            o = o.tls_config(tls.clone()).server_name(&self.host);
        }
        o
    }
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredFile {
    /// The file.
    pub file: String,
    /// `success`, `failed`, `skipped` (a DICOMDIR) or `cancelled`.
    pub status: String,
    /// The C-STORE response status (`0x0000` when stored), when there was a response.
    pub dimse_status: Option<String>,
    /// Why it failed, or the warning the peer gave.
    pub error: Option<String>,
    /// Size of the file in bytes.
    #[serde(skip)]
    pub bytes: u64,
}

impl Row for StoredFile {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("file", "File"),
        ("status", "Status"),
        ("dimse_status", "DIMSE Status"),
        ("error", "Error"),
    ];
    const ID: &'static str = "file";
}

impl StoredFile {
    fn new(file: &Path, status: &str, dimse: Option<u16>, error: Option<String>) -> Self {
        StoredFile {
            file: file.display().to_string(),
            status: status.into(),
            dimse_status: dimse.map(|s| format!("0x{s:04X}")),
            error,
            bytes: 0,
        }
    }
}

/// A presentation context to propose: abstract syntax and transfer syntaxes.
type Context = (String, Vec<String>);

/// A file ready to send: where its data set starts and what it is.
#[derive(Debug, Clone)]
struct Prepared {
    path: PathBuf,
    layout: Layout,
}

fn association_error(peer: &Peer, e: &(dyn std::error::Error + 'static)) -> Error {
    let reason = super::read::one_line(e);
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>().is_some() {
            let reason = match peer.tls {
                Some(_) => format!("{reason} (during the TLS handshake: is this a TLS port?)"),
                None => reason,
            };
            return Error::Unreachable {
                url: format!("dicom://{}", peer.address()),
                reason,
            };
        }
        source = s.source();
    }
    Error::Dicom(format!(
        "association with {} failed: {reason}",
        peer.address()
    ))
}

/// C-ECHO the peer; any failure names host, port and called AE title.
pub async fn echo(peer: &Peer) -> Result<()> {
    let failed = |why: String| {
        Error::Dicom(format!(
            "C-ECHO failed - check host/port/AET settings (host={}, port={}, called_aet={}): {why}",
            peer.host, peer.port, peer.called_aet
        ))
    };
    let opts = peer.options().with_presentation_context(
        dimse::VERIFICATION,
        vec![IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE],
    );
    let run = async {
        let mut assoc = Assoc::establish(peer, opts).await?;
        let pc = assoc
            .contexts()
            .iter()
            .find(|c| c.reason == PresentationContextResultReason::Acceptance)
            .map(|c| c.id)
            .ok_or_else(|| failed("the peer does not accept the Verification SOP class".into()))?;
        let status = assoc
            .command(pc, dimse::echo_rq(1))
            .await
            .map_err(|e| failed(e.to_string()))?;
        assoc.release().await;
        match status {
            (0, _) => Ok(()),
            (s, _) => Err(failed(format!("status 0x{s:04X}"))),
        }
    };
    match run.await {
        Err(Error::Dicom(m)) if !m.starts_with("C-ECHO failed") => Err(failed(m)),
        other => other,
    }
}

/// The presentation contexts `files` need: one per distinct (SOP class, transfer syntax), then
/// the CSA context. Files whose meta group cannot be read come back as failures.
fn prepare(files: &[PathBuf]) -> (Vec<Prepared>, Vec<StoredFile>, Vec<Context>) {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    let mut pairs = BTreeSet::new();
    for f in files {
        match read_meta(f) {
            Ok(layout) if layout.sop_class == super::read::DICOMDIR_CLASS => {
                let why = "a DICOMDIR (an index of the files on a medium) is not sent".to_string();
                failed.push(StoredFile::new(f, "skipped", None, Some(why)));
            }
            Ok(layout) => {
                pairs.insert((layout.sop_class.clone(), layout.transfer_syntax.clone()));
                ok.push(Prepared {
                    path: f.clone(),
                    layout,
                });
            }
            Err(e) => failed.push(StoredFile::new(f, "failed", None, Some(e))),
        }
    }
    let classes: BTreeSet<String> = pairs.iter().map(|(c, _)| c.clone()).collect();
    let mut contexts: Vec<Context> = pairs.into_iter().map(|(c, t)| (c, vec![t])).collect();
    // Per SOP class, a second context offering the uncompressed syntaxes: if the peer does not
    // take a file's own syntax it can still take the file converted (see `send_one`). Left out
    // when it would not fit in one association. Only the little-endian syntaxes are offered as
    // conversion targets: converting *into* Big Endian would have to byte-swap 16-bit pixel data
    // whose VR an Implicit VR file does not state, and a wrong guess corrupts the image silently.
    if contexts.len() + classes.len() < MAX_CONTEXTS {
        let uncompressed = CONVERSION_TARGETS.map(String::from).to_vec();
        contexts.extend(classes.into_iter().map(|c| (c, uncompressed.clone())));
    }
    contexts.push((
        CSA_NON_IMAGE_STORAGE.to_string(),
        vec![EXPLICIT_LE.to_string(), IMPLICIT_LE.to_string()],
    ));
    (ok, failed, contexts)
}

fn read_meta(path: &Path) -> std::result::Result<Layout, String> {
    use std::io::Read;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    std::fs::File::open(path)
        .and_then(|f| f.take(HEAD_BYTES as u64).read_to_end(&mut head))
        .map_err(|e| format!("cannot read: {e}"))?;
    if !super::read::looks_like_dicom(&head) {
        return Err("not a DICOM file".into());
    }
    let layout = layout::meta(&head)?;
    if layout.sop_class.is_empty() || layout.sop_instance.is_empty() {
        return Err("the file meta group names no SOP class or instance".into());
    }
    if layout.transfer_syntax.is_empty() {
        return Err("the file meta group names no transfer syntax".into());
    }
    Ok(layout)
}

/// Everything `store` needs besides the files.
pub struct StoreJob {
    /// The receiver.
    pub peer: Peer,
    /// Parallel associations.
    pub workers: usize,
    /// Stop taking new files once cancelled.
    pub cancel: CancellationToken,
    /// Per-file progress.
    pub progress: Arc<dyn Progress>,
}

/// The outcome of a run: one entry per file, in path order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreReport {
    /// Every file.
    pub files: Vec<StoredFile>,
}

impl StoreReport {
    /// Files stored.
    pub fn sent(&self) -> usize {
        self.count("success")
    }

    /// Files that failed.
    pub fn failed(&self) -> usize {
        self.count("failed")
    }

    /// Files not sent on purpose (DICOMDIRs).
    pub fn skipped(&self) -> usize {
        self.count("skipped")
    }

    /// Bytes of the files stored.
    pub fn bytes(&self) -> u64 {
        self.files
            .iter()
            .filter(|f| f.status == "success")
            .map(|f| f.bytes)
            .sum()
    }

    fn count(&self, status: &str) -> usize {
        self.files.iter().filter(|f| f.status == status).count()
    }
}

struct Shared {
    queue: Mutex<VecDeque<(usize, u8)>>,
    results: Mutex<Vec<Option<StoredFile>>>,
    last_error: Mutex<Option<String>>,
}

/// Send `files` (C-ECHO done by the caller) and report per file.
pub async fn store(files: &[PathBuf], job: StoreJob) -> Result<StoreReport> {
    let (prepared, mut early, contexts) = prepare(files);
    if contexts.len() > MAX_CONTEXTS {
        return Err(Error::InvalidInput(format!(
            "the files need {} presentation contexts; one association carries at most {MAX_CONTEXTS}",
            contexts.len()
        )));
    }
    let shared = Arc::new(Shared {
        queue: Mutex::new((0..prepared.len()).map(|i| (i, 0)).collect()),
        results: Mutex::new(vec![None; prepared.len()]),
        last_error: Mutex::new(None),
    });
    let prepared = Arc::new(prepared);
    let contexts = Arc::new(contexts);
    let workers = job.workers.clamp(1, prepared.len().max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (shared, prepared, contexts) = (shared.clone(), prepared.clone(), contexts.clone());
        let (peer, cancel, progress) = (job.peer.clone(), job.cancel.clone(), job.progress.clone());
        tasks.spawn(async move {
            worker(
                &peer,
                &contexts,
                &prepared,
                &shared,
                &cancel,
                progress.as_ref(),
            )
            .await
        });
    }
    while tasks.join_next().await.is_some() {}
    let last_error = lock(&shared.last_error).clone();
    let mut results = std::mem::take(&mut *lock(&shared.results));
    for (i, r) in results.iter_mut().enumerate() {
        if r.is_none() {
            let path = &prepared[i].path;
            *r = Some(if job.cancel.is_cancelled() {
                StoredFile::new(path, "cancelled", None, None)
            } else {
                let why = last_error.clone().unwrap_or_else(|| "not sent".into());
                StoredFile::new(path, "failed", None, Some(why))
            });
        }
    }
    early.extend(results.into_iter().flatten());
    early.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(StoreReport { files: early })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn worker(
    peer: &Peer,
    contexts: &[Context],
    files: &[Prepared],
    shared: &Shared,
    cancel: &CancellationToken,
    progress: &dyn Progress,
) {
    let mut message_id: u16 = 0;
    let mut failures = 0;
    'associations: loop {
        if cancel.is_cancelled() || lock(&shared.queue).is_empty() {
            return;
        }
        let mut opts = peer.options();
        for (class, syntaxes) in contexts {
            opts = opts.with_presentation_context(class.clone(), syntaxes.clone());
        }
        let mut assoc = match Assoc::establish(peer, opts).await {
            Ok(a) => a,
            Err(e) => {
                *lock(&shared.last_error) = Some(e.to_string());
                failures += 1;
                if failures > RECONNECTS {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200 * failures as u64)).await;
                continue;
            }
        };
        loop {
            if cancel.is_cancelled() {
                assoc.release().await;
                return;
            }
            let Some((i, attempt)) = lock(&shared.queue).pop_front() else {
                assoc.release().await;
                return;
            };
            let file = &files[i];
            let label = file.path.display().to_string();
            progress.begin(&label, None);
            message_id = message_id.wrapping_add(1).max(1);
            let outcome = send_one(&mut assoc, file, message_id).await;
            progress.finish(&label);
            match outcome {
                Ok(mut stored) => {
                    if stored.status == "success" {
                        progress.advance(stored.bytes);
                    }
                    stored.file = label;
                    lock(&shared.results)[i] = Some(stored);
                }
                Err(e) => {
                    // The association is gone: the file in flight was not stored; send it
                    // once more on a new association.
                    let msg = format!("association dropped: {e}");
                    if attempt == 0 {
                        lock(&shared.queue).push_back((i, 1));
                    } else {
                        lock(&shared.results)[i] = Some(StoredFile::new(
                            &file.path,
                            "failed",
                            None,
                            Some(msg.clone()),
                        ));
                    }
                    *lock(&shared.last_error) = Some(msg);
                    failures += 1;
                    if failures > RECONNECTS {
                        return;
                    }
                    continue 'associations;
                }
            }
        }
    }
}

/// Send one file. `Ok` carries the file's own outcome (stored, refused, unreadable);
/// `Err` means the association itself failed.
async fn send_one(
    assoc: &mut Assoc,
    file: &Prepared,
    message_id: u16,
) -> std::result::Result<StoredFile, String> {
    let path = &file.path;
    let ts = &file.layout.transfer_syntax;
    let class = &file.layout.sop_class;
    let (pc, send_as) = match choose_context(assoc.contexts(), class, ts) {
        Ok(c) => c,
        Err(why) => return Ok(StoredFile::new(path, "failed", None, Some(why))),
    };
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(e) => {
            return Ok(StoredFile::new(
                path,
                "failed",
                None,
                Some(format!("cannot read: {e}")),
            ))
        }
    };
    // The whole file is checked before anything is sent: a truncated data set must not reach
    // the peer half-way.
    let layout = match layout::check(&bytes) {
        Ok(l) => l,
        Err(e) => return Ok(StoredFile::new(path, "failed", None, Some(e))),
    };
    let converted;
    let dataset = match &send_as {
        None => &bytes[layout.dataset_start..],
        Some(to) => match transcode(&bytes, to) {
            Ok(d) => {
                tracing::info!(file = %path.display(), from = %ts, to = %to, "converted: the peer does not accept the file's transfer syntax");
                converted = d;
                &converted[..]
            }
            Err(why) => return Ok(StoredFile::new(path, "failed", None, Some(why))),
        },
    };
    let command = dimse::store_rq(message_id, class, &file.layout.sop_instance);
    let (status, comment) = assoc.store(pc, command, dataset).await?;
    let mut stored = match status {
        0x0000 => StoredFile::new(path, "success", Some(status), None),
        // Warnings: the instance was stored (with coercion or elements discarded).
        0x0001 | 0x0107 | 0x0116 | 0xB000..=0xBFFF => StoredFile::new(
            path,
            "success",
            Some(status),
            Some(comment.unwrap_or_else(|| "stored with a warning".into())),
        ),
        _ => StoredFile::new(
            path,
            "failed",
            Some(status),
            Some(match comment {
                Some(c) => format!("refused with status 0x{status:04X}: {c}"),
                None => format!("refused with status 0x{status:04X}"),
            }),
        ),
    };
    stored.bytes = bytes.len() as u64;
    Ok(stored)
}

fn is_uncompressed(ts: &str) -> bool {
    matches!(ts, IMPLICIT_LE | EXPLICIT_LE | EXPLICIT_BE)
}

fn syntax_name(uid: &str) -> String {
    use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
    match dicom_transfer_syntax_registry::TransferSyntaxRegistry.get(uid) {
        Some(ts) => format!("{uid} ({})", ts.name()),
        None => uid.to_string(),
    }
}

/// The presentation context to send a file of SOP class `class` in transfer syntax `ts` on, and
/// the syntax to convert it to first (`None`: send it as it is). The file's own syntax wins;
/// otherwise an uncompressed file goes converted to an accepted uncompressed syntax (Explicit
/// VR Little Endian first). Compressed data is never decoded: such a file fails, saying why.
fn choose_context(
    contexts: &[dicom_ul::pdu::PresentationContextNegotiated],
    class: &str,
    ts: &str,
) -> std::result::Result<(u8, Option<String>), String> {
    let accepted: Vec<(u8, &str)> = contexts
        .iter()
        .filter(|c| {
            c.reason == PresentationContextResultReason::Acceptance
                && c.abstract_syntax.trim_end_matches('\0') == class
        })
        .map(|c| (c.id, c.transfer_syntax.trim_end_matches('\0')))
        .collect();
    if let Some((id, _)) = accepted.iter().find(|(_, t)| *t == ts) {
        return Ok((*id, None));
    }
    if accepted.is_empty() {
        return Err(format!("the peer does not accept SOP class {class}"));
    }
    if is_uncompressed(ts) {
        for want in CONVERSION_TARGETS {
            if let Some((id, t)) = accepted.iter().find(|(_, t)| *t == want) {
                return Ok((*id, Some(t.to_string())));
            }
        }
    }
    let mut offered: Vec<&str> = accepted.iter().map(|(_, t)| *t).collect();
    offered.sort_unstable();
    offered.dedup();
    let offered: Vec<String> = offered.into_iter().map(syntax_name).collect();
    Err(format!(
        "the peer does not accept transfer syntax {} for SOP class {class} (it accepts {}); \
         xnatctl converts uncompressed files only, and only into a little-endian syntax",
        syntax_name(ts),
        offered.join(", ")
    ))
}

/// The data set of a checked Part 10 file, re-encoded in the uncompressed syntax `to`.
fn transcode(bytes: &[u8], to: &str) -> std::result::Result<Vec<u8>, String> {
    use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
    let ts = dicom_transfer_syntax_registry::TransferSyntaxRegistry
        .get(to)
        .ok_or_else(|| format!("unknown transfer syntax {to}"))?;
    let obj = super::read::parse(bytes, dicom_object::OpenFileOptions::new())
        .map_err(|e| format!("cannot convert to {}: {}", syntax_name(to), e.message()))?;
    let mut out = Vec::with_capacity(bytes.len());
    obj.write_dataset_with_ts(&mut out, ts).map_err(|e| {
        format!(
            "cannot convert to {}: {}",
            syntax_name(to),
            super::read::one_line(&e)
        )
    })?;
    Ok(out)
}

/// A plaintext or TLS association.
enum Assoc {
    Plain(Box<AsyncClientAssociation<TcpStream>>),
    Tls(Box<AsyncClientAssociation<AsyncTlsStream>>),
}

impl Assoc {
    async fn establish(peer: &Peer, opts: ClientAssociationOptions<'static>) -> Result<Assoc> {
        let addr = peer.address();
        let r = if peer.tls.is_some() {
            opts.establish_tls_async(addr.as_str())
                .await
                .map(|a| Assoc::Tls(Box::new(a)))
        } else {
            opts.establish_async(addr.as_str())
                .await
                .map(|a| Assoc::Plain(Box::new(a)))
        };
        let mut assoc = r.map_err(|e| association_error(peer, &e))?;
        // Each C-STORE ends with a small segment and then waits for the answer: with Nagle's
        // algorithm on, that segment waits for a delayed ACK (~40 ms per file).
        let _ = match &mut assoc {
            Assoc::Plain(a) => a.inner_stream().set_nodelay(true),
            Assoc::Tls(a) => a.inner_stream().get_ref().0.set_nodelay(true),
        };
        Ok(assoc)
    }

    fn contexts(&self) -> &[dicom_ul::pdu::PresentationContextNegotiated] {
        match self {
            Assoc::Plain(a) => a.presentation_contexts(),
            Assoc::Tls(a) => a.presentation_contexts(),
        }
    }

    async fn command(
        &mut self,
        pc: u8,
        command: Vec<u8>,
    ) -> std::result::Result<(u16, Option<String>), String> {
        match self {
            Assoc::Plain(a) => exchange(a.as_mut(), pc, command, None).await,
            Assoc::Tls(a) => exchange(a.as_mut(), pc, command, None).await,
        }
    }

    async fn store(
        &mut self,
        pc: u8,
        command: Vec<u8>,
        dataset: &[u8],
    ) -> std::result::Result<(u16, Option<String>), String> {
        match self {
            Assoc::Plain(a) => exchange(a.as_mut(), pc, command, Some(dataset)).await,
            Assoc::Tls(a) => exchange(a.as_mut(), pc, command, Some(dataset)).await,
        }
    }

    async fn release(self) {
        let _ = match self {
            Assoc::Plain(a) => a.release().await,
            Assoc::Tls(a) => a.release().await,
        };
    }
}

/// A stream whose TCP socket can be told to acknowledge at once.
trait QuickAck {
    /// Turn delayed ACKs off until the kernel turns them back on (Linux resets the mode on its
    /// own, so this is called before every wait for an answer).
    fn quick_ack(&self);
}

fn quick_ack_tcp(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

impl QuickAck for TcpStream {
    fn quick_ack(&self) {
        quick_ack_tcp(self);
    }
}

impl QuickAck for AsyncTlsStream {
    fn quick_ack(&self) {
        quick_ack_tcp(self.get_ref().0);
    }
}

/// Send a command (and its data set) and wait for the response's status.
///
/// Before waiting, the socket is put in quick-ACK mode: dcmtk's storescp writes each response
/// PDU in two pieces (its 12-byte header, then the rest) with Nagle's algorithm on, so the second
/// piece waits until the first is acknowledged; with Linux's delayed ACK that was 40 ms per file
/// (measured with strace against storescp 3.6.7: 46 ms per file on one association before).
async fn exchange<S>(
    assoc: &mut AsyncClientAssociation<S>,
    pc: u8,
    command: Vec<u8>,
    dataset: Option<&[u8]>,
) -> std::result::Result<(u16, Option<String>), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + QuickAck,
{
    let pdu = Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: pc,
            value_type: PDataValueType::Command,
            is_last: true,
            data: command,
        }],
    };
    assoc
        .send(&pdu)
        .await
        .map_err(|e| super::read::one_line(&e))?;
    if let Some(data) = dataset {
        let mut w = assoc.send_pdata(pc);
        w.write_all(data).await.map_err(|e| e.to_string())?;
        w.finish().await.map_err(|e| e.to_string())?;
    }
    let mut response = Vec::new();
    loop {
        assoc.inner_stream().quick_ack();
        match assoc
            .receive()
            .await
            .map_err(|e| super::read::one_line(&e))?
        {
            Pdu::PData { data } => {
                let mut last = false;
                for v in data {
                    if v.value_type == PDataValueType::Command {
                        response.extend_from_slice(&v.data);
                        last |= v.is_last;
                    }
                }
                if last {
                    break;
                }
            }
            Pdu::AbortRQ { .. } => return Err("the peer aborted the association".into()),
            Pdu::ReleaseRQ => return Err("the peer released the association".into()),
            other => return Err(format!("unexpected {other:?}")),
        }
    }
    dimse::status_of(&response).ok_or_else(|| "a response without a status".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_ul::pdu::PresentationContextNegotiated;

    const MR: &str = "1.2.840.10008.5.1.4.1.1.4";

    fn accepted(id: u8, ts: &str) -> PresentationContextNegotiated {
        PresentationContextNegotiated {
            id,
            reason: PresentationContextResultReason::Acceptance,
            transfer_syntax: ts.to_string(),
            abstract_syntax: MR.to_string(),
        }
    }

    #[test]
    fn a_file_goes_in_its_own_syntax_when_the_peer_takes_it() {
        let ctx = [accepted(1, EXPLICIT_LE), accepted(3, IMPLICIT_LE)];
        assert_eq!(choose_context(&ctx, MR, IMPLICIT_LE), Ok((3, None)));
    }

    #[test]
    fn an_uncompressed_file_is_converted_to_little_endian_explicit_first() {
        let ctx = [accepted(3, IMPLICIT_LE), accepted(5, EXPLICIT_LE)];
        assert_eq!(
            choose_context(&ctx, MR, EXPLICIT_BE),
            Ok((5, Some(EXPLICIT_LE.to_string())))
        );
    }

    #[test]
    fn nothing_is_converted_into_big_endian() {
        let ctx = [accepted(1, EXPLICIT_BE)];
        let why = choose_context(&ctx, MR, IMPLICIT_LE).unwrap_err();
        assert!(why.contains("only into a little-endian syntax"), "{why}");
    }

    #[test]
    fn a_compressed_file_is_never_converted() {
        let ctx = [accepted(1, EXPLICIT_LE)];
        let why = choose_context(&ctx, MR, "1.2.840.10008.1.2.4.70").unwrap_err();
        assert!(why.contains("1.2.840.10008.1.2.4.70"), "{why}");
    }
}
