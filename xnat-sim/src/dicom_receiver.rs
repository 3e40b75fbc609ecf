//! XNAT's DICOM receiver (`--dicom-listen ADDR`): C-ECHO and C-STORE over DICOM upper layer
//! associations; each stored instance becomes a Part 10 file in the prearchive, grouped into one
//! session per StudyInstanceUID, as XNAT's DICOM SCP receiver files them.
//!
//! Routing follows XNAT's default identifier: `Project: X` (and `Subject:`, `Session:`) in
//! Patient Comments (0010,4000) or Study Comments (0032,4000); otherwise the project is
//! `Unassigned`, the subject the Patient's Name and the session the Patient ID. A called AE title
//! other than the receiver's is rejected, as XNAT does.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, OpenFileOptions};
use dicom_ul::association::server::AsyncServerAssociation;
use dicom_ul::pdu::{PDataValue, PDataValueType};
use dicom_ul::{Pdu, ServerAssociationOptions};
use tokio::net::TcpStream;

use crate::routes::files::{tmp_path, Incoming};
use crate::routes::import::{label_of, store_in_prearchive};
use crate::AppState;

/// The AE title the receiver answers to unless told otherwise (XNAT's default).
pub const DEFAULT_AE_TITLE: &str = "XNAT";
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

/// Listen on `addr` (port 0: any free port) on a thread of its own; returns the bound address.
/// The receiver lives as long as the process.
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
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let ae_title = ae_title.to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("xnat-sim-dicom".into())
        .spawn(move || {
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                serve(listener, app, ae_title, faults).await;
            })
        })?;
    Ok(bound)
}

/// Accept associations until the listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: AppState,
    ae_title: String,
    faults: ReceiverFaults,
) {
    while let Ok((socket, _)) = listener.accept().await {
        let (app, ae, faults) = (app.clone(), ae_title.clone(), faults.clone());
        tokio::spawn(async move {
            if let Err(e) = handle(socket, &app, &ae, &faults).await {
                tracing::debug!("DICOM association ended: {e}");
            }
        });
    }
}

async fn handle(
    socket: TcpStream,
    app: &AppState,
    ae_title: &str,
    faults: &ReceiverFaults,
) -> Result<(), String> {
    let opts = ServerAssociationOptions::new()
        .accept_called_ae_title()
        .ae_title(ae_title.to_string())
        .with_abstract_syntax(VERIFICATION)
        .promiscuous(true);
    let mut assoc = opts
        .establish_async(socket)
        .await
        .map_err(|e| e.to_string())?;
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
                            let status = match store(app, &cmd, &ts, &data) {
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
fn store(app: &AppState, cmd: &Command, ts: &str, dataset: &[u8]) -> Result<(), String> {
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
    let result = file_it(app, &tmp);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn file_it(app: &AppState, tmp: &Path) -> Result<(), String> {
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
    store_in_prearchive(&mut st, &project, None, &subject, &session, &[&member]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
