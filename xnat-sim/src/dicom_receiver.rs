//! XNAT's DICOM receivers: C-ECHO and C-STORE over DICOM upper layer associations, one listener
//! per receiver port, as XNAT's `DicomSCPManager` runs one `DicomSCP` per port with an
//! application entity for each *enabled* receiver (`DicomSCPInstance`) on that port.
//!
//! * An association is accepted only when its called AE title belongs to an enabled receiver on
//!   the listener's port; otherwise it is rejected (A-ASSOCIATE-RJ, rejected-permanent,
//!   service-user, "called AE title not recognized"), as dcm4che's `Device` does for an AE title
//!   it does not host. Receivers are read at each association, so `/xapi/dicomscp` changes are
//!   visible to the next client at once.
//! * The `--dicom-listen` listener ([`spawn`]) stands for XNAT's default DICOM port
//!   [`DEFAULT_PORT`] (the fixture's receiver `XNAT:8104`), whatever address it is bound to. It
//!   stays up even when no receiver on that port is enabled (then it rejects every association;
//!   XNAT would not listen at all).
//! * Opt-in ([`enable_receiver_ports`], `--dicom-receiver-ports exact|ephemeral`): every other
//!   port with an enabled receiver gets a listener of its own, on that port (`exact`) or on a free
//!   one (`ephemeral`, for tests; [`listener_for`] and `GET /__sim/dicom/listeners` tell where),
//!   and loses it when its last enabled receiver is disabled or deleted, as XNAT cycles the port.
//! * A receiver with `whitelistEnabled` then admits only a calling AE title or peer address on
//!   its whitelist (`AE`, `ADDRESS[/BITS]`, `AE@ADDRESS[/BITS]`); anyone else is rejected with
//!   "calling AE title not recognized", as XNAT's `WhitelistAssociationHandler` does.
//!
//! Each stored instance becomes a Part 10 file filed as the receiver routes it (XNAT's
//! `GradualDicomImporter`, with the receiver's flags looked up per C-STORE like
//! `DicomSCPManager.isDirectArchive(aeTitle, port)`): grouped into one session per
//! StudyInstanceUID by the default identifier (`dicomObjectIdentifier`): `Project: X` (and
//! `Subject:`, `Session:`) in Patient Comments (0010,4000) or Study Comments (0032,4000);
//! otherwise the project is `Unassigned`, the subject the Patient's Name and the session the
//! Patient ID. With `directArchive` and a project identified, the session goes straight into the
//! archive instead of the prearchive (XNAT files it as a direct-archive session and archives it
//! once the study is idle; the simulator archives it at once); with no project it goes to the
//! prearchive, as XNAT does. `customProcessing` runs XNAT's archive processors, of which the
//! simulator has none, so it changes nothing.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, OpenFileOptions};
use dicom_ul::association::server::{AccessControl, AsyncServerAssociation};
use dicom_ul::pdu::{AssociationRJServiceUserReason, PDataValue, PDataValueType, UserIdentity};
use dicom_ul::{Pdu, ServerAssociationOptions};
use tokio::net::TcpStream;

use crate::params::Caller;
use crate::routes::files::{tmp_path, Incoming};
use crate::routes::import::{label_of, store_in_prearchive};
use crate::routes::prearchive::{archive_session, ArchiveTarget};
use crate::AppState;

/// The AE title of XNAT's default receiver.
pub const DEFAULT_AE_TITLE: &str = "XNAT";
/// XNAT's default DICOM port, the port of its default receiver `XNAT:8104`.
pub const DEFAULT_PORT: u32 = 8104;
/// Study Comments (0032,4000): retired from the standard, still read by XNAT's routing.
const STUDY_COMMENTS: dicom_core::Tag = dicom_core::Tag(0x0032, 0x4000);
const VERIFICATION: &str = "1.2.840.10008.1.1";
const IMPLEMENTATION_CLASS_UID: &str = "1.2.826.0.1.3680043.10.543.1";

/// Misbehaviour for tests: abort associations part-way, or answer slowly.
#[derive(Debug, Clone, Default)]
pub struct ReceiverFaults {
    /// Abort an association when it asks to store more than this many instances…
    pub abort_after: Option<usize>,
    /// …this many times in all (then behave).
    pub aborts: Arc<AtomicUsize>,
    /// Wait this long before answering each C-STORE.
    pub delay: Duration,
}

/// Where listeners for receiver ports other than [`DEFAULT_PORT`] are bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortBinding {
    /// On the receiver's own port, as XNAT does.
    Exact,
    /// On a free port (tests): ask [`listener_for`] where.
    Ephemeral,
}

impl std::str::FromStr for PortBinding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "exact" => Ok(PortBinding::Exact),
            "ephemeral" => Ok(PortBinding::Ephemeral),
            other => Err(format!("expected exact or ephemeral, got {other:?}")),
        }
    }
}

/// One running listener.
#[derive(Debug)]
pub struct Listener {
    /// The receiver port it serves.
    pub port: u32,
    /// Where it is bound.
    pub addr: SocketAddr,
    /// Started by [`spawn`] (`--dicom-listen`): never stopped by receiver changes.
    fixed: bool,
    /// Dropping it stops the listener.
    stop: tokio::sync::oneshot::Sender<()>,
    /// The listener's thread (ends once it stopped and closed its socket).
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    /// Stop it and wait until its socket is closed.
    fn stop(self) {
        drop(self.stop);
        if let Some(t) = self.thread {
            let _ = t.join();
        }
    }
}

/// The DICOM listeners of the simulator (kept in its state).
#[derive(Debug, Default)]
pub struct Listeners {
    /// Host and binding of per-receiver-port listeners, when enabled.
    per_port: Option<(IpAddr, PortBinding)>,
    running: Vec<Listener>,
}

impl Listeners {
    /// Receiver port → bound address, for every running listener (the newest per port).
    pub fn addresses(&self) -> std::collections::BTreeMap<u32, SocketAddr> {
        self.running.iter().map(|l| (l.port, l.addr)).collect()
    }
}

/// Listen on `addr` (port 0: any free port) for XNAT's default receiver port [`DEFAULT_PORT`], on
/// a thread of its own; returns the bound address. The listener lives as long as the process.
/// Unless a receiver on that port already has `ae_title`, the default receiver (id 1) takes it
/// (or, if it is gone, a new receiver is added), so `--dicom-aet` keeps meaning "the AE title
/// the receiver answers to".
pub fn spawn(app: AppState, addr: SocketAddr, ae_title: &str) -> std::io::Result<SocketAddr> {
    spawn_with(app, addr, ae_title, ReceiverFaults::default())
}

/// [`spawn`] with faults.
pub fn spawn_with(
    app: AppState,
    addr: SocketAddr,
    ae_title: &str,
    faults: ReceiverFaults,
) -> std::io::Result<SocketAddr> {
    ensure_receiver(&app, ae_title);
    let (bound, stop, thread) = start(app.clone(), addr, DEFAULT_PORT, faults)?;
    app.write().dicom_listeners.running.push(Listener {
        port: DEFAULT_PORT,
        addr: bound,
        fixed: true,
        stop,
        thread: Some(thread),
    });
    Ok(bound)
}

fn ensure_receiver(app: &AppState, ae_title: &str) {
    use crate::routes::dicomscp::{ScpReceiver, DEFAULT_IDENTIFIER};
    let mut st = app.write();
    let known = st
        .scp_receivers
        .values()
        .any(|r| r.port == DEFAULT_PORT && r.ae_title == ae_title);
    if known {
        return;
    }
    match st.scp_receivers.get_mut(&1) {
        Some(r) if r.port == DEFAULT_PORT => {
            r.ae_title = ae_title.to_string();
            r.label = format!("{ae_title}:{DEFAULT_PORT}");
        }
        _ => {
            let id = st.scp_receivers.keys().max().copied().unwrap_or(0) + 1;
            let r = ScpReceiver::new(id, ae_title, DEFAULT_PORT, DEFAULT_IDENTIFIER);
            st.scp_receivers.insert(id, r);
        }
    }
}

/// From now on, give every port with an enabled receiver a listener of its own on `host`
/// (see the module documentation), starting with the receivers there are now.
pub fn enable_receiver_ports(app: &AppState, host: IpAddr, binding: PortBinding) {
    app.write().dicom_listeners.per_port = Some((host, binding));
    sync_ports(app);
}

/// Where the listener for receiver port `port` is bound, if one runs.
pub fn listener_for(app: &AppState, port: u32) -> Option<SocketAddr> {
    app.read().dicom_listeners.addresses().get(&port).copied()
}

/// Start and stop per-port listeners so that exactly the ports with an enabled receiver have
/// one (XNAT cycles a receiver's port when it is created, changed, enabled, disabled or
/// deleted). Does nothing unless [`enable_receiver_ports`] was called.
pub fn sync_ports(app: &AppState) {
    let mut st = app.write();
    let Some((host, binding)) = st.dicom_listeners.per_port else {
        return;
    };
    let wanted: BTreeSet<u32> = st
        .scp_receivers
        .values()
        .filter(|r| r.enabled)
        .map(|r| r.port)
        .collect();
    let (keep, gone): (Vec<Listener>, Vec<Listener>) =
        std::mem::take(&mut st.dicom_listeners.running)
            .into_iter()
            .partition(|l| l.fixed || wanted.contains(&l.port));
    st.dicom_listeners.running = keep;
    for port in wanted {
        if st.dicom_listeners.running.iter().any(|l| l.port == port) {
            continue;
        }
        // XNAT does not validate ports; one it cannot bind leaves the receivers unavailable.
        let Ok(number) = u16::try_from(port) else {
            continue;
        };
        if number == 0 {
            continue;
        }
        let bind = match binding {
            PortBinding::Exact => SocketAddr::new(host, number),
            PortBinding::Ephemeral => SocketAddr::new(host, 0),
        };
        match start(app.clone(), bind, port, ReceiverFaults::default()) {
            Ok((addr, stop, thread)) => {
                tracing::info!("DICOM receivers on port {port} listen on {addr}");
                st.dicom_listeners.running.push(Listener {
                    port,
                    addr,
                    fixed: false,
                    stop,
                    thread: Some(thread),
                });
            }
            // XNAT logs this too and leaves the port's receivers unavailable.
            Err(e) => tracing::warn!("cannot listen for DICOM receivers on {bind}: {e}"),
        }
    }
    // Stopped outside the lock (an association being set up may be reading the receivers), and
    // waited for, so that the port is closed when the change that closed it has been answered.
    drop(st);
    for l in gone {
        l.stop();
    }
}

/// Bind `addr` and serve receiver port `port` on a thread of its own until the returned sender
/// is dropped.
type Started = (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
);

fn start(
    app: AppState,
    addr: SocketAddr,
    port: u32,
    faults: ReceiverFaults,
) -> std::io::Result<Started> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name(format!("xnat-sim-dicom-{port}"))
        .spawn(move || {
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                tokio::select! {
                    _ = serve(listener, app, port, faults) => {}
                    _ = rx => {}
                }
            })
        })?;
    Ok((bound, tx, thread))
}

/// Accept associations for the receivers on `port` until the listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: AppState,
    port: u32,
    faults: ReceiverFaults,
) {
    while let Ok((socket, _)) = listener.accept().await {
        let (app, faults) = (app.clone(), faults.clone());
        tokio::spawn(async move {
            if let Err(e) = handle(socket, &app, port, &faults).await {
                tracing::debug!("DICOM association ended: {e}");
            }
        });
    }
}

/// Accept a called AE title only if an enabled receiver on this port has it, then (XNAT's
/// `WhitelistAssociationHandler`, consulted after dcm4che found the AE) only a calling AE title
/// or peer address on that receiver's whitelist when it has `whitelistEnabled`.
struct EnabledReceivers {
    app: AppState,
    port: u32,
    peer: Option<std::net::IpAddr>,
}

impl AccessControl for EnabledReceivers {
    fn check_access(
        &self,
        _this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        let called = called_ae_title.trim();
        let st = self.app.read();
        let Some(r) = st
            .scp_receivers
            .values()
            .find(|r| r.enabled && r.port == self.port && r.ae_title == called)
        else {
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        };
        if r.whitelist_enabled && !whitelisted(&r.whitelist, calling_ae_title.trim(), self.peer) {
            return Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized);
        }
        Ok(())
    }
}

/// Whether a whitelist lets `calling` from `peer` in: an entry is `AE@ADDRESS`, `ADDRESS` or
/// `AE`, where an address is an IP or a CIDR block (Spring's `IpAddressMatcher`).
fn whitelisted(list: &[String], calling: &str, peer: Option<IpAddr>) -> bool {
    list.iter().any(|entry| {
        let parts: Vec<&str> = entry.split('@').collect();
        match parts.as_slice() {
            [ae, address] => *ae == calling && ip_matches(address, peer),
            [one] => ip_matches(one, peer) || *one == calling,
            _ => false,
        }
    })
}

fn ip_matches(pattern: &str, peer: Option<IpAddr>) -> bool {
    let Some(peer) = peer else {
        return false;
    };
    let (address, bits) = match pattern.split_once('/') {
        Some((a, b)) => match b.parse::<u32>() {
            Ok(n) => (a, Some(n)),
            Err(_) => return false,
        },
        None => (pattern, None),
    };
    let Ok(address) = address.parse::<IpAddr>() else {
        return false;
    };
    let (a, p, width) = match (address, peer.to_canonical()) {
        (IpAddr::V4(a), IpAddr::V4(p)) => (u32::from(a) as u128, u32::from(p) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(p)) => (u128::from(a), u128::from(p), 128),
        _ => return false,
    };
    let bits = bits.unwrap_or(width).min(width);
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (a >> shift) == (p >> shift)
}

/// The receiver an association was made with.
struct Route {
    ae_title: String,
    port: u32,
}

async fn handle(
    socket: TcpStream,
    app: &AppState,
    port: u32,
    faults: &ReceiverFaults,
) -> Result<(), String> {
    let peer = socket.peer_addr().ok().map(|a| a.ip());
    let opts = ServerAssociationOptions::new()
        .ae_access_control(EnabledReceivers {
            app: app.clone(),
            port,
            peer,
        })
        .with_abstract_syntax(VERIFICATION)
        .promiscuous(true);
    let mut assoc = opts
        .establish_async(socket)
        .await
        .map_err(|e| e.to_string())?;
    let route = Route {
        ae_title: assoc.called_ae_title().trim().to_string(),
        port,
    };
    let mut command = Vec::new();
    let mut data = Vec::new();
    let mut pending: Option<(u8, Command)> = None;
    let mut stores = 0;
    loop {
        let pdu = assoc.receive().await.map_err(|e| e.to_string())?;
        match pdu {
            Pdu::PData { data: values } => {
                for v in values {
                    match v.value_type {
                        PDataValueType::Command => {
                            command.extend_from_slice(&v.data);
                            if !v.is_last {
                                continue;
                            }
                            let cmd = Command::parse(&command);
                            command.clear();
                            if cmd.has_dataset {
                                stores += 1;
                                let over = faults.abort_after.is_some_and(|n| stores > n);
                                if over
                                    && faults
                                        .aborts
                                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |a| {
                                            a.checked_sub(1)
                                        })
                                        .is_ok()
                                {
                                    let _ = assoc.abort().await;
                                    return Ok(());
                                }
                                pending = Some((v.presentation_context_id, cmd));
                            } else {
                                respond(&mut assoc, v.presentation_context_id, &cmd, 0).await?;
                            }
                        }
                        PDataValueType::Data => {
                            data.extend_from_slice(&v.data);
                            if !v.is_last {
                                continue;
                            }
                            let Some((pc, cmd)) = pending.take() else {
                                data.clear();
                                continue;
                            };
                            let ts = assoc
                                .presentation_contexts()
                                .iter()
                                .find(|c| c.id == pc)
                                .map(|c| c.transfer_syntax.trim_end_matches('\0').to_string())
                                .unwrap_or_default();
                            let status = match store(app, &route, &cmd, &ts, &data) {
                                Ok(()) => 0x0000,
                                Err(e) => {
                                    tracing::warn!(
                                        "DICOM receiver could not store an instance: {e}"
                                    );
                                    0xA700
                                }
                            };
                            data.clear();
                            if !faults.delay.is_zero() {
                                tokio::time::sleep(faults.delay).await;
                            }
                            respond(&mut assoc, pc, &cmd, status).await?;
                        }
                    }
                }
            }
            Pdu::ReleaseRQ => {
                let _ = assoc.send(&Pdu::ReleaseRP).await;
                return Ok(());
            }
            Pdu::AbortRQ { .. } => return Ok(()),
            other => return Err(format!("unexpected {other:?}")),
        }
    }
}

/// The fields of a request command set the receiver uses.
#[derive(Debug, Default)]
struct Command {
    field: u16,
    message_id: u16,
    sop_class: String,
    sop_instance: String,
    has_dataset: bool,
}

impl Command {
    fn parse(bytes: &[u8]) -> Command {
        let mut c = Command::default();
        let mut pos = 0;
        while pos + 8 <= bytes.len() {
            let elem = u16::from_le_bytes([bytes[pos + 2], bytes[pos + 3]]);
            let len = u32::from_le_bytes([
                bytes[pos + 4],
                bytes[pos + 5],
                bytes[pos + 6],
                bytes[pos + 7],
            ]) as usize;
            pos += 8;
            let Some(value) = bytes.get(pos..pos + len) else {
                break;
            };
            pos += len;
            let text = || {
                String::from_utf8_lossy(value)
                    .trim_end_matches(['\0', ' '])
                    .to_string()
            };
            let short = || {
                if len >= 2 {
                    u16::from_le_bytes([value[0], value[1]])
                } else {
                    0
                }
            };
            match elem {
                0x0002 => c.sop_class = text(),
                0x0100 => c.field = short(),
                0x0110 => c.message_id = short(),
                0x0800 => c.has_dataset = short() != 0x0101,
                0x1000 => c.sop_instance = text(),
                _ => {}
            }
        }
        c
    }
}

fn element(out: &mut Vec<u8>, elem: u16, value: &[u8]) {
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&elem.to_le_bytes());
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(value);
}

fn uid(v: &str) -> Vec<u8> {
    let mut b = v.as_bytes().to_vec();
    if b.len() % 2 == 1 {
        b.push(0);
    }
    b
}

async fn respond(
    assoc: &mut AsyncServerAssociation<TcpStream>,
    pc: u8,
    cmd: &Command,
    status: u16,
) -> Result<(), String> {
    let mut body = Vec::new();
    element(&mut body, 0x0002, &uid(&cmd.sop_class));
    element(&mut body, 0x0100, &(cmd.field | 0x8000).to_le_bytes());
    element(&mut body, 0x0120, &cmd.message_id.to_le_bytes());
    element(&mut body, 0x0800, &0x0101u16.to_le_bytes());
    element(&mut body, 0x0900, &status.to_le_bytes());
    if !cmd.sop_instance.is_empty() {
        element(&mut body, 0x1000, &uid(&cmd.sop_instance));
    }
    let mut out = Vec::new();
    element(&mut out, 0x0000, &(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    let pdu = Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: pc,
            value_type: PDataValueType::Command,
            is_last: true,
            data: out,
        }],
    };
    assoc.send(&pdu).await.map_err(|e| e.to_string())
}

/// `Project:`/`Subject:`/`Session:` values from a comments attribute.
fn routing_value(comments: &str, key: &str) -> Option<String> {
    comments.split([';', '\n', '\r']).find_map(|part| {
        let (k, v) = part.split_once(':')?;
        (k.trim().eq_ignore_ascii_case(key) && !v.trim().is_empty()).then(|| v.trim().to_string())
    })
}

/// Write the instance as a Part 10 file and file it in the prearchive.
fn store(
    app: &AppState,
    route: &Route,
    cmd: &Command,
    ts: &str,
    dataset: &[u8],
) -> Result<(), String> {
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(cmd.sop_class.as_str())
        .media_storage_sop_instance_uid(cmd.sop_instance.as_str())
        .transfer_syntax(ts)
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name("XNAT_SIM")
        .build()
        .map_err(|e| e.to_string())?;
    let data_dir = app.read().data_dir.clone();
    let tmp = tmp_path(&data_dir);
    if let Some(dir) = tmp.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let written = (|| -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        f.write_all(&[0u8; 128])?;
        f.write_all(b"DICM")?;
        meta.write(&mut f).map_err(std::io::Error::other)?;
        f.write_all(dataset)?;
        f.flush()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.to_string());
    }
    let result = file_it(app, route, &tmp);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn file_it(app: &AppState, route: &Route, tmp: &Path) -> Result<(), String> {
    let header = crate::dicom::read_header(tmp)?;
    if header.study_uid.is_empty() {
        return Err("no StudyInstanceUID".into());
    }
    let obj = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(tmp)
        .map_err(|e| e.to_string())?;
    let comments: Vec<String> = [tags::PATIENT_COMMENTS, STUDY_COMMENTS]
        .into_iter()
        .filter_map(|t| {
            obj.element_opt(t)
                .ok()
                .flatten()?
                .to_str()
                .ok()
                .map(|s| s.to_string())
        })
        .collect();
    let routed = |key: &str| comments.iter().find_map(|c| routing_value(c, key));
    let bytes = std::fs::read(tmp).map_err(|e| e.to_string())?;
    let incoming = Incoming {
        rel: format!("{}.dcm", header.sop_instance_uid),
        tmp: tmp.to_path_buf(),
        size: bytes.len() as u64,
        digest: crate::state::md5_hex(&bytes),
    };
    let mut st = app.write();
    let project = routed("Project")
        .filter(|p| st.projects.contains_key(p))
        .unwrap_or_else(|| "Unassigned".to_string());
    let pick = |routed: Option<String>, fallbacks: [&str; 2]| {
        routed
            .or_else(|| {
                fallbacks
                    .iter()
                    .find(|v| !v.is_empty())
                    .map(|v| v.to_string())
            })
            .map(|v| label_of(&v))
            .unwrap_or_else(|| "unknown".into())
    };
    let subject = pick(
        routed("Subject"),
        [&header.patient_name, &header.patient_id],
    );
    let session = pick(routed("Session"), [&header.patient_id, &header.study_uid]);
    let member = (incoming, header);
    let idx = store_in_prearchive(&mut st, &project, None, &subject, &session, &[&member]);
    // Looked up per instance, as `DicomSCPManager.isDirectArchive(aeTitle, port)` is; a receiver
    // deleted mid-association counts as not direct-archiving.
    let direct = st
        .scp_receivers
        .values()
        .any(|r| r.ae_title == route.ae_title && r.port == route.port && r.direct_archive);
    if direct && project != "Unassigned" {
        // XNAT's received-file user is an administrator.
        let admin = st
            .users
            .values()
            .find(|u| u.admin)
            .map(|u| u.username.clone());
        let caller = Caller {
            username: admin,
            admin: true,
            session_id: None,
        };
        let target = ArchiveTarget {
            project: Some(project.clone()),
            subject: Some(subject),
            session: Some(session),
        };
        if archive_session(&mut st, &caller, idx, &target, "append").is_err() {
            st.prearchive[idx].status = "CONFLICT".into();
            return Err("direct archive failed".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitelists_match_ae_titles_addresses_and_cidr_blocks() {
        let local = Some(IpAddr::from([127, 0, 0, 1]));
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(whitelisted(&list(&["SCU"]), "SCU", local));
        assert!(!whitelisted(&list(&["SCU"]), "OTHER", local));
        assert!(whitelisted(&list(&["127.0.0.1"]), "ANY", local));
        assert!(whitelisted(&list(&["127.0.0.0/8"]), "ANY", local));
        assert!(!whitelisted(&list(&["10.0.0.0/8"]), "ANY", local));
        assert!(whitelisted(&list(&["SCU@127.0.0.1"]), "SCU", local));
        assert!(!whitelisted(&list(&["SCU@10.1.2.3"]), "SCU", local));
        assert!(!whitelisted(&list(&["OTHER@127.0.0.1"]), "SCU", local));
        assert!(!whitelisted(&[], "SCU", local));
    }

    #[test]
    fn routing_values_come_from_comments() {
        assert_eq!(
            routing_value("Project: P1; Subject: S1", "project").as_deref(),
            Some("P1")
        );
        assert_eq!(
            routing_value("Project: P1; Subject: S1", "Subject").as_deref(),
            Some("S1")
        );
        assert_eq!(routing_value("nothing here", "Project"), None);
    }
}
