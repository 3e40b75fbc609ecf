//! Archiving a prearchive entry: where it goes ([`ArchiveTarget`]), which XSI types it gets, and
//! the state change itself, shared by `action=commit`, the archive service and the import service.

use axum::http::StatusCode;
use axum::response::Response;

use crate::access;
use crate::envelope::restlet_error;
use crate::params::Caller;
use crate::state::{FileData, PrearchiveEntry, Resource, State as SimState};

/// Labels that override what the prearchive entry says (from `dest`, `project`, `subject`, ...).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ArchiveTarget {
    pub project: Option<String>,
    pub subject: Option<String>,
    pub session: Option<String>,
}

impl ArchiveTarget {
    /// `/archive/projects/P[/subjects/S[/experiments/E]]`, with or without `/data`.
    pub fn from_dest(dest: &str) -> Option<Self> {
        let d = dest.strip_prefix("/data").unwrap_or(dest);
        let rest = d.strip_prefix("/archive")?;
        let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let mut t = ArchiveTarget::default();
        let mut it = segs.chunks(2);
        for pair in &mut it {
            match pair {
                ["projects", p] => t.project = Some(p.to_string()),
                ["subjects", s] => t.subject = Some(s.to_string()),
                ["experiments", e] => t.session = Some(e.to_string()),
                _ => return None,
            }
        }
        Some(t)
    }
}

/// `xnat:mrSessionData`/`xnat:mrScanData` for `MR`, etc.
pub fn xsi_types(modality: &str) -> (String, String) {
    let m = match modality.to_ascii_uppercase().as_str() {
        "MR" => "mr",
        "CT" => "ct",
        "PT" | "PET" => "pet",
        "US" => "us",
        "CR" => "cr",
        "DX" => "dx",
        "MG" => "mg",
        "XA" => "xa",
        "NM" => "nm",
        _ => "otherDicom",
    };
    (format!("xnat:{m}SessionData"), format!("xnat:{m}ScanData"))
}

/// Modality of an entry, read from its first stored DICOM file.
fn entry_modality(e: &PrearchiveEntry) -> String {
    let Some(f) = e.scans.iter().flat_map(|s| s.files.values()).next() else {
        return String::new();
    };
    let header = match &f.data {
        FileData::Disk(p) => crate::dicom::read_header(p),
        FileData::Inline(b) => crate::dicom::read_header_bytes(b),
        FileData::Generated { .. } => return String::new(),
    };
    header.map(|h| h.modality).unwrap_or_default()
}

/// Archive prearchive entry `i`: create (or, with `overwrite=append|delete`, merge into) the
/// subject and session, move scan files into `DICOM` resources, and drop the entry. Returns the
/// archive URI `/data/archive/projects/P/subjects/S/experiments/E`.
pub fn archive_session(
    st: &mut SimState,
    caller: &Caller,
    i: usize,
    target: &ArchiveTarget,
    overwrite: &str,
) -> Result<String, Response> {
    let entry = st.prearchive[i].clone();
    let project = target.project.clone().unwrap_or(entry.project.clone());
    if project == "Unassigned" || project.is_empty() {
        return Err(restlet_error(
            StatusCode::BAD_REQUEST,
            "Cannot archive sessions from the Unassigned folder.",
        ));
    }
    let Some(p) = st.projects.get(&project) else {
        return Err(restlet_error(
            StatusCode::NOT_FOUND,
            &format!("Unable to identify project: {project}"),
        ));
    };
    if !access::can_edit(caller, p) {
        return Err(restlet_error(StatusCode::FORBIDDEN, ""));
    }
    let subject_label = target.subject.clone().unwrap_or(entry.subject.clone());
    let session_label = target.session.clone().unwrap_or(entry.session.clone());
    let user = caller.name().to_string();
    let existing = st
        .experiment_by_label(&project, &session_label)
        .map(|e| e.id.clone());
    let eid = match (existing, overwrite) {
        (Some(_), "none" | "") => {
            return Err(restlet_error(
                StatusCode::CONFLICT,
                &format!("Session already exists with matching label: {session_label}. Use overwrite=append to add to it."),
            ))
        }
        (Some(eid), "delete") => {
            if let Some(e) = st.experiments.get_mut(&eid) {
                let old = std::mem::take(&mut e.scans);
                crate::routes::remove_paths(&old.iter().flat_map(|s| crate::routes::disk_paths(&s.resources)).collect::<Vec<_>>());
            }
            eid
        }
        (Some(eid), _) => eid,
        (None, _) => {
            let sid = match st.subject_by_label(&project, &subject_label) {
                Some(s) => s.id.clone(),
                None => crate::fixture::add_subject(st, &project, &subject_label, &user),
            };
            let (session_xsi, _) = xsi_types(&entry_modality(&entry));
            let date = entry.scan_date.get(..10).unwrap_or("").to_string();
            let eid = crate::fixture::add_experiment(
                st,
                &project,
                &sid,
                &session_label,
                &session_xsi,
                &date,
                &user,
            );
            if let Some(e) = st.experiments.get_mut(&eid) {
                e.date = (!date.is_empty()).then_some(date);
                e.time = (!entry.scan_time.is_empty()).then(|| entry.scan_time.clone());
                e.attrs.insert("UID".into(), entry.tag.clone());
            }
            eid
        }
    };
    let session_xsi = st.experiments[&eid].xsi_type.clone();
    let scan_xsi = session_xsi.replace("SessionData", "ScanData");
    for scan in &entry.scans {
        if st.experiments[&eid].scan(&scan.id).is_none() {
            crate::fixture::add_scan(
                st,
                &eid,
                &scan.id,
                &scan_xsi,
                &scan.scan_type,
                &scan.series_description,
                scan.files.len() as u64,
            );
        }
        let needs_resource = st.experiments[&eid]
            .scan(&scan.id)
            .is_some_and(|s| !s.resources.iter().any(|r| r.label == "DICOM"));
        let rid = needs_resource.then(|| st.next_resource_id());
        let Some(s) = st
            .experiments
            .get_mut(&eid)
            .and_then(|e| e.scan_mut(&scan.id))
        else {
            continue;
        };
        if let Some(id) = rid {
            s.resources.push(Resource {
                id,
                label: "DICOM".into(),
                format: "DICOM".into(),
                content: "RAW".into(),
                tags: String::new(),
                files: Default::default(),
            });
        }
        let res = s
            .resources
            .iter_mut()
            .find(|r| r.label == "DICOM")
            .expect("DICOM resource exists");
        for (name, f) in &scan.files {
            res.files.insert(name.clone(), f.clone());
        }
        s.frames = Some(res.files.len() as u64);
    }
    st.prearchive.remove(i);
    let slabel = st
        .experiments
        .get(&eid)
        .and_then(|e| st.subjects.get(&e.subject_id))
        .map(|s| s.label.clone())
        .unwrap_or(subject_label);
    Ok(format!(
        "/data/archive/projects/{project}/subjects/{slabel}/experiments/{session_label}"
    ))
}
