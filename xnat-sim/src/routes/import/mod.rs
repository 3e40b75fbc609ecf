//! The import service `POST /data/services/import` (fidelity spec §12): `DICOM-zip` (a zip, tar or
//! tar.gz of DICOM files) and `gradual-DICOM` (one file per request), raw or multipart bodies.
//!
//! Files are sorted by their headers: StudyInstanceUID → one session, SeriesNumber → scans, and
//! stored under `{SOPInstanceUID}.dcm`, so importing the same instances again replaces rather than
//! duplicates. Sessions land in the prearchive unless the destination, the parameters or the
//! project's `prearchive_code` ask for archiving, which goes through
//! [`crate::routes::prearchive::archive_session`].

use std::path::PathBuf;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;

use crate::access;
use crate::dicom::{self, DicomHeader};
use crate::envelope::{restlet_error, text, with_type};
use crate::params::{Caller, Params};
use crate::routes::files;
use crate::routes::prearchive::{self, ArchiveTarget};
use crate::state::{FileData, FileEntry, PrearchiveEntry, PrearchiveScan, State as SimState};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/data/services/import", post(import))
        .layer(DefaultBodyLimit::disable())
}

/// Label-safe form of a header value (XNAT labels: letters, digits, `_`, `-`).
pub fn label_of(s: &str) -> String {
    let out: String = s
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    out.trim_matches('_').to_string()
}

fn first_non_empty(candidates: &[Option<&str>]) -> String {
    candidates
        .iter()
        .flatten()
        .map(|s| label_of(s))
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

/// Where `dest` points.
#[derive(Debug, Default, PartialEq, Eq)]
struct Dest {
    archive: Option<ArchiveTarget>,
    project: Option<String>,
    /// `(timestamp, folder)` of an existing prearchive session.
    session: Option<(String, String)>,
}

fn parse_dest(dest: &str) -> Option<Dest> {
    let d = dest.strip_prefix("/data").unwrap_or(dest);
    if d.starts_with("/archive") {
        let t = ArchiveTarget::from_dest(d)?;
        return Some(Dest {
            project: t.project.clone(),
            archive: Some(t),
            session: None,
        });
    }
    let rest = d.strip_prefix("/prearchive")?;
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        [] => Some(Dest::default()),
        ["projects", p] => Some(Dest {
            project: Some(p.to_string()),
            ..Dest::default()
        }),
        ["projects", p, ts, f] => Some(Dest {
            project: Some(p.to_string()),
            session: Some((ts.to_string(), f.to_string())),
            ..Dest::default()
        }),
        _ => None,
    }
}

/// A received file (size and MD5 computed while it was written) and its header (or why it is
/// not DICOM).
type Parsed = (files::Incoming, Result<DicomHeader, String>);

fn cleanup(paths: &[PathBuf]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

async fn import(State(app): State<AppState>, caller: Caller, req: Request) -> Response {
    let params = Params::parse(req.uri().query());
    let is_dicom_body = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/dicom"));
    let handler = params
        .get("import-handler")
        .map(str::to_string)
        .unwrap_or_else(|| {
            if is_dicom_body {
                "gradual-DICOM".into()
            } else {
                "DICOM-zip".into()
            }
        });
    let gradual = match handler.to_ascii_lowercase().as_str() {
        "dicom-zip" => false,
        "gradual-dicom" => true,
        _ => {
            return restlet_error(
                StatusCode::NOT_FOUND,
                &format!("Unknown importer implementation specified: {handler}"),
            )
        }
    };
    let dest = match params.get("dest").map(parse_dest) {
        Some(None) => {
            return restlet_error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid dest: {}", params.get("dest").unwrap_or("")),
            )
        }
        Some(Some(d)) => d,
        None => Dest::default(),
    };
    let project = params
        .get("PROJECT_ID")
        .or(params.get("project"))
        .map(str::to_string)
        .or(dest.project.clone());
    let data_dir = {
        let st = app.read();
        if let Some(p) = &project {
            match st.projects.get(p) {
                None => {
                    return restlet_error(
                        StatusCode::NOT_FOUND,
                        &format!("Unable to identify project: {p}"),
                    )
                }
                Some(pr) if !access::can_edit(&caller, pr) => {
                    return restlet_error(StatusCode::FORBIDDEN, "")
                }
                Some(_) => {}
            }
        }
        st.data_dir.clone()
    };

    // A raw DICOM-zip body is unpacked while it arrives; multipart and gradual bodies are stored
    // first (each file hashed once, as it is written).
    let incoming = if gradual || files::is_multipart(req.headers()) {
        let received = match files::receive_files(&data_dir, req, Some("upload")).await {
            Ok(r) => r,
            Err(_) => {
                return restlet_error(StatusCode::BAD_REQUEST, "Unable to identify upload format.")
            }
        };
        if received.len() > 1 {
            cleanup(&received.iter().map(|r| r.1.clone()).collect::<Vec<_>>());
            return restlet_error(
                StatusCode::BAD_REQUEST,
                "Importer is limited to one uploaded resource at a time.",
            );
        }
        let (rel, tmp, size, digest) = received.into_iter().next().expect("one upload");
        let upload = files::Incoming {
            rel,
            tmp,
            size,
            digest,
        };
        if gradual {
            Ok(vec![upload])
        } else {
            let dd = data_dir.clone();
            tokio::task::spawn_blocking(move || {
                let out = files::extract_archive(&dd, &upload.tmp, "");
                let _ = std::fs::remove_file(&upload.tmp);
                out
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
        }
    } else {
        match files::extract_stream(&data_dir, req.into_body().into_data_stream(), "").await {
            Ok(v) => Ok(v),
            Err(files::StreamExtractError::Empty) => {
                return restlet_error(StatusCode::BAD_REQUEST, "Unable to identify upload format.")
            }
            Err(files::StreamExtractError::Archive(e)) => Err(e),
        }
    };
    let incoming = match incoming {
        Ok(v) => v,
        Err(e) => {
            return restlet_error(
                StatusCode::BAD_REQUEST,
                &format!("Unable to read the uploaded archive: {e}"),
            )
        }
    };
    // Only the header is read (parsing stops before Pixel Data).
    let parsed = tokio::task::spawn_blocking(move || -> Vec<Parsed> {
        incoming
            .into_iter()
            .map(|i| {
                let h = dicom::read_header(&i.tmp);
                (i, h)
            })
            .collect()
    })
    .await;
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => return restlet_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let commit = params.get("action") == Some("commit") || params.flag("AA");
    let ignore = if params.has("Ignore-Unparsable") {
        params.flag("Ignore-Unparsable")
    } else {
        commit
    };
    let all_paths: Vec<PathBuf> = parsed.iter().map(|(i, _)| i.tmp.clone()).collect();
    let mut good = Vec::new();
    for (i, h) in parsed {
        match h {
            Ok(h) if !h.study_uid.is_empty() => good.push((i, h)),
            _ if ignore => {
                let _ = std::fs::remove_file(&i.tmp);
            }
            Ok(_) | Err(_) => {
                cleanup(&all_paths);
                return restlet_error(
                    StatusCode::BAD_REQUEST,
                    "Unable to parse an uploaded file as DICOM (use Ignore-Unparsable=true to skip such files).",
                );
            }
        }
    }
    if good.is_empty() {
        return restlet_error(
            StatusCode::BAD_REQUEST,
            "No DICOM files found in the upload.",
        );
    }

    let mut st = app.write();
    let project = project.unwrap_or_else(|| "Unassigned".to_string());
    let auto = st
        .projects
        .get(&project)
        .is_some_and(|p| p.prearchive_code >= 4);
    let archive = dest.archive.is_some()
        || commit
        || auto
        || params.flag("Direct-Archive")
        || params.flag("autoArchive");
    let mut target = dest.archive.clone().unwrap_or_default();
    if project != "Unassigned" {
        target.project = Some(project.clone());
    }
    let subject_param = params.get("SUBJECT_ID").or(params.get("subject"));
    let session_param = params.get("EXPT_LABEL").or(params.get("session"));
    // Gradual uploads arrive one file per request: later files must join the same session.
    let overwrite = match params.get("overwrite") {
        Some(o) => o.to_string(),
        None if gradual || params.flag("Direct-Archive") => "append".to_string(),
        None => "none".to_string(),
    };

    let mut studies: Vec<String> = Vec::new();
    for (_, h) in &good {
        if !studies.contains(&h.study_uid) {
            studies.push(h.study_uid.clone());
        }
    }
    let mut uris = Vec::new();
    for study in studies {
        let members: Vec<&(files::Incoming, DicomHeader)> =
            good.iter().filter(|(_, h)| h.study_uid == study).collect();
        let h0 = &members[0].1;
        let subject = first_non_empty(&[
            subject_param,
            target.subject.as_deref(),
            Some(&h0.patient_id),
            Some(&h0.patient_name),
        ]);
        let session = first_non_empty(&[
            session_param,
            target.session.as_deref(),
            Some(&h0.accession_number),
            Some(&h0.study_description),
            Some(&h0.study_uid),
        ]);
        let idx = store_in_prearchive(
            &mut st,
            &project,
            dest.session.as_ref(),
            &subject,
            &session,
            &members,
        );
        if archive {
            let mut t = target.clone();
            t.subject = Some(subject.clone());
            t.session = Some(session.clone());
            match prearchive::archive_session(&mut st, &caller, idx, &t, &overwrite) {
                Ok(u) => uris.push(u),
                Err(resp) => {
                    st.prearchive[idx].status = "CONFLICT".into();
                    return resp;
                }
            }
        } else {
            uris.push(format!(
                "/data{}",
                prearchive::entry_url(&st.prearchive[idx])
            ));
        }
    }
    drop(st);
    if params.format().as_deref() == Some("txt") && uris.len() == 1 {
        return text(StatusCode::OK, uris[0].clone());
    }
    let body: String = uris.iter().map(|u| format!("{u}\r\n")).collect();
    with_type(StatusCode::OK, "text/uri-list", body)
}

fn scan_date(h: &DicomHeader) -> (String, String) {
    let d = &h.study_date;
    let date = if d.len() == 8 {
        format!("{}-{}-{} 00:00:00.0", &d[..4], &d[4..6], &d[6..8])
    } else {
        String::new()
    };
    let t = &h.study_time;
    let time = if t.len() >= 6 {
        format!("{}:{}:{}", &t[..2], &t[2..4], &t[4..6])
    } else {
        String::new()
    };
    (date, time)
}

/// Add the files to the prearchive session for this study (created when missing); returns its index.
pub(crate) fn store_in_prearchive(
    st: &mut SimState,
    project: &str,
    fixed: Option<&(String, String)>,
    subject: &str,
    session: &str,
    members: &[&(files::Incoming, DicomHeader)],
) -> usize {
    let study = &members[0].1.study_uid;
    let found = st.prearchive.iter().position(|e| {
        e.project == project
            && match fixed {
                Some((ts, f)) => &e.timestamp == ts && &e.folder_name == f,
                None => &e.tag == study,
            }
    });
    let now = crate::state::now_timestamp();
    let idx = match found {
        Some(i) => i,
        None => {
            let (scan_date, scan_time) = scan_date(&members[0].1);
            let (ts, folder) = match fixed {
                Some((ts, f)) => (ts.clone(), f.clone()),
                None => (
                    chrono::Local::now().format("%Y%m%d_%H%M%S%3f").to_string(),
                    session.to_string(),
                ),
            };
            st.prearchive.push(PrearchiveEntry {
                project: project.to_string(),
                timestamp: ts,
                folder_name: folder,
                name: session.to_string(),
                status: "READY".into(),
                subject: subject.to_string(),
                session: session.to_string(),
                tag: study.clone(),
                scan_date,
                scan_time,
                uploaded: now.clone(),
                lastmod: now.clone(),
                source: "SessionImporter".into(),
                scans: Vec::new(),
            });
            st.prearchive.len() - 1
        }
    };
    let data_dir = st.data_dir.clone();
    let e = &mut st.prearchive[idx];
    e.lastmod = now;
    let base = data_dir
        .join("prearchive")
        .join(&e.project)
        .join(&e.timestamp)
        .join(&e.folder_name)
        .join("SCANS");
    for (inc, h) in members {
        let scan_id = if h.series_number.is_empty() {
            "1".to_string()
        } else {
            h.series_number.clone()
        };
        let name = if h.sop_instance_uid.is_empty() {
            inc.tmp
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            format!("{}.dcm", h.sop_instance_uid)
        };
        let final_path = base.join(&scan_id).join(&name);
        let _ = std::fs::create_dir_all(final_path.parent().expect("has parent"));
        if std::fs::rename(&inc.tmp, &final_path).is_err() {
            continue;
        }
        let scan = match e.scans.iter().position(|s| s.id == scan_id) {
            Some(i) => &mut e.scans[i],
            None => {
                e.scans.push(PrearchiveScan {
                    id: scan_id.clone(),
                    scan_type: h.series_description.clone(),
                    series_description: h.series_description.clone(),
                    files: Default::default(),
                });
                e.scans.last_mut().expect("just pushed")
            }
        };
        scan.files.insert(
            name,
            FileEntry {
                size: inc.size,
                digest: inc.digest.clone(),
                content_type: "application/dicom".into(),
                data: FileData::Disk(final_path),
            },
        );
    }
    idx
}

#[cfg(test)]
mod tests;
