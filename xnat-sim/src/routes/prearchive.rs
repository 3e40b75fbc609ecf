//! The prearchive (fidelity spec §13): listings, session detail, delete, rebuild, move, commit,
//! and the archive service `POST /data/services/archive`, plus the batch services under
//! `/data/services/prearchive/{move,delete,rebuild}`.
//!
//! [`archive_session`] is shared with the import service: it turns a prearchive entry into an
//! archived subject/session with one `DICOM` resource per scan, reusing the stored files in place.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::access;
use crate::archive::{self, ArchiveEntry, ArchiveFormat};
use crate::envelope::{ok_empty, restlet_error, row, with_type, ResultSet, Row};
use crate::params::{Caller, Params};
use crate::state::{FileData, PrearchiveEntry, Resource, State as SimState};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/data/prearchive", get(list_all))
        .route("/data/prearchive/projects", get(list_all))
        .route("/data/prearchive/projects/{project}", get(list_project))
        .route(
            "/data/prearchive/projects/{project}/{key}/{folder}",
            get(detail).delete(delete).post(action),
        )
        .route(
            "/data/prearchive/projects/{project}/{key}/{folder}/scans",
            get(scans),
        )
        .route("/data/services/archive", post(archive_service))
        .route("/data/services/prearchive/{key}", post(batch))
}

/// `/prearchive/projects/P/TS/FOLDER` (no `/data`, as in the `url` column).
pub fn entry_url(e: &PrearchiveEntry) -> String {
    format!(
        "/prearchive/projects/{}/{}/{}",
        e.project, e.timestamp, e.folder_name
    )
}

pub fn entry_row(e: &PrearchiveEntry) -> Row {
    row([
        ("project", e.project.clone()),
        ("timestamp", e.timestamp.clone()),
        ("lastmod", e.lastmod.clone()),
        ("uploaded", e.uploaded.clone()),
        ("scan_date", e.scan_date.clone()),
        ("scan_time", e.scan_time.clone()),
        ("subject", e.subject.clone()),
        ("folderName", e.folder_name.clone()),
        ("name", e.name.clone()),
        ("tag", e.tag.clone()),
        ("status", e.status.clone()),
        ("url", entry_url(e)),
        ("autoarchive", String::new()),
        ("prevent_anon", "false".to_string()),
        ("prevent_auto_commit", "false".to_string()),
        ("SOURCE", e.source.clone()),
        ("VISIT", String::new()),
        ("PROTOCOL", String::new()),
        ("TIMEZONE", String::new()),
    ])
}

fn visible(st: &SimState, caller: &Caller, project: &str) -> bool {
    caller.admin
        || st
            .projects
            .get(project)
            .is_some_and(|p| access::can_read(caller, p))
}

fn editable(st: &SimState, caller: &Caller, project: &str) -> bool {
    caller.admin
        || st
            .projects
            .get(project)
            .is_some_and(|p| access::can_edit(caller, p))
}

async fn list_all(State(app): State<AppState>, caller: Caller, params: Params) -> Response {
    let st = app.read();
    let tag = params.get("tag");
    let rows = st
        .prearchive
        .iter()
        .filter(|e| visible(&st, &caller, &e.project))
        .filter(|e| tag.is_none_or(|t| t == e.tag))
        .map(entry_row)
        .collect();
    ResultSet::new(rows).respond(params.format().as_deref())
}

async fn list_project(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    params: Params,
) -> Response {
    let st = app.read();
    if project != "Unassigned" && !st.projects.contains_key(&project) {
        return restlet_error(
            StatusCode::NOT_FOUND,
            &format!("Unable to identify project: {project}"),
        );
    }
    if !visible(&st, &caller, &project) {
        return restlet_error(StatusCode::FORBIDDEN, "");
    }
    let rows = st
        .prearchive
        .iter()
        .filter(|e| e.project == project)
        .map(entry_row)
        .collect();
    ResultSet::new(rows).respond(params.format().as_deref())
}

fn find(st: &SimState, project: &str, ts: &str, folder: &str) -> Option<usize> {
    st.prearchive
        .iter()
        .position(|e| e.project == project && e.timestamp == ts && e.folder_name == folder)
}

fn session_missing() -> Response {
    restlet_error(
        StatusCode::NOT_FOUND,
        "Unable to find the specified prearchive session.",
    )
}

/// Resolve the URL's session, checking read (or edit) rights.
fn locate(
    st: &SimState,
    caller: &Caller,
    (project, ts, folder): &(String, String, String),
    edit: bool,
) -> Result<usize, Response> {
    let i = find(st, project, ts, folder).ok_or_else(session_missing)?;
    let ok = if edit {
        editable(st, caller, project)
    } else {
        visible(st, caller, project)
    };
    if !ok {
        return Err(restlet_error(StatusCode::FORBIDDEN, ""));
    }
    Ok(i)
}

async fn detail(
    State(app): State<AppState>,
    caller: Caller,
    Path(key): Path<(String, String, String)>,
    params: Params,
) -> Response {
    let entry = {
        let st = app.read();
        match locate(&st, &caller, &key, false) {
            Ok(i) => st.prearchive[i].clone(),
            Err(r) => return r,
        }
    };
    match params.format().as_deref() {
        Some("zip") => {
            let folder = entry.folder_name.clone();
            let entries: Vec<ArchiveEntry> = entry
                .scans
                .iter()
                .flat_map(|s| {
                    let folder = folder.clone();
                    s.files.iter().map(move |(name, f)| ArchiveEntry {
                        name: format!("{}/SCANS/{}/DICOM/{}", folder, s.id, name),
                        size: f.size,
                        data: f.data.clone(),
                    })
                })
                .collect();
            match archive::stream(entries, ArchiveFormat::Zip) {
                Ok((stream, len)) => {
                    let mut resp = Body::from_stream(stream).into_response();
                    let h = resp.headers_mut();
                    h.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/zip"),
                    );
                    if let Ok(v) = HeaderValue::from_str(&format!(
                        "attachment; filename=\"{}.zip\";",
                        entry.folder_name
                    )) {
                        h.insert(header::CONTENT_DISPOSITION, v);
                    }
                    if let Some(n) = len {
                        h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
                    }
                    resp
                }
                Err(_) => restlet_error(StatusCode::INTERNAL_SERVER_ERROR, ""),
            }
        }
        Some("xml") => restlet_error(
            StatusCode::NOT_FOUND,
            "The requested session document is not available.",
        ),
        f => ResultSet::new(vec![entry_row(&entry)]).respond(f),
    }
}

async fn scans(
    State(app): State<AppState>,
    caller: Caller,
    Path(key): Path<(String, String, String)>,
    params: Params,
) -> Response {
    let st = app.read();
    let i = match locate(&st, &caller, &key, false) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let rows = st.prearchive[i]
        .scans
        .iter()
        .map(|s| {
            row([
                ("ID", s.id.clone()),
                ("series_description", s.series_description.clone()),
                ("type", s.scan_type.clone()),
                ("file_count", s.files.len().to_string()),
            ])
        })
        .collect();
    ResultSet::new(rows).respond(params.format().as_deref())
}

fn disk_files(e: &PrearchiveEntry) -> Vec<std::path::PathBuf> {
    e.scans
        .iter()
        .flat_map(|s| s.files.values())
        .filter_map(|f| match &f.data {
            FileData::Disk(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(key): Path<(String, String, String)>,
) -> Response {
    let removed = {
        let mut st = app.write();
        match locate(&st, &caller, &key, true) {
            Ok(i) => st.prearchive.remove(i),
            Err(r) => return r,
        }
    };
    crate::routes::remove_paths(&disk_files(&removed));
    ok_empty()
}

fn uri_list(uris: &[String]) -> Response {
    let body: String = uris.iter().map(|u| format!("{u}\r\n")).collect();
    with_type(StatusCode::OK, "text/uri-list", body)
}

/// Move entry `i` to `project`; returns the new `/data/prearchive/...` URI.
fn move_entry(st: &mut SimState, i: usize, project: &str) -> Result<String, Response> {
    if !st.projects.contains_key(project) {
        return Err(restlet_error(
            StatusCode::NOT_FOUND,
            &format!("Unable to identify project: {project}"),
        ));
    }
    let (ts, folder) = (
        st.prearchive[i].timestamp.clone(),
        st.prearchive[i].folder_name.clone(),
    );
    if find(st, project, &ts, &folder).is_some() {
        return Err(restlet_error(
            StatusCode::CONFLICT,
            "A session with the same name already exists in the destination project.",
        ));
    }
    let e = &mut st.prearchive[i];
    e.project = project.to_string();
    e.lastmod = crate::state::now_timestamp();
    Ok(format!("/data{}", entry_url(e)))
}

async fn action(
    State(app): State<AppState>,
    caller: Caller,
    Path(key): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let mut params = Params::parse(uri.query());
    params.merge_form(&headers, &body);
    let mut st = app.write();
    let i = match locate(&st, &caller, &key, true) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match params.get("action").unwrap_or("") {
        "build" | "rebuild" | "reset-status" | "set-status" => {
            let e = &mut st.prearchive[i];
            e.status = "READY".into();
            e.lastmod = crate::state::now_timestamp();
            ok_empty()
        }
        "move" => {
            let Some(dest) = params.get("newProject").map(str::to_string) else {
                return restlet_error(StatusCode::BAD_REQUEST, "Missing newProject.");
            };
            if !editable(&st, &caller, &dest) {
                return restlet_error(StatusCode::FORBIDDEN, "");
            }
            match move_entry(&mut st, i, &dest) {
                Ok(u) => {
                    let mut r = uri_list(&[u]);
                    *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
                    r
                }
                Err(r) => r,
            }
        }
        "commit" => {
            let overwrite = params.get("overwrite").unwrap_or("none").to_string();
            match archive_session(&mut st, &caller, i, &ArchiveTarget::default(), &overwrite) {
                Ok(u) => {
                    let mut r = uri_list(&[u]);
                    *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
                    r
                }
                Err(r) => r,
            }
        }
        other => restlet_error(
            StatusCode::BAD_REQUEST,
            &format!("Unsupported action: {other}"),
        ),
    }
}

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

/// `src=/prearchive/projects/P/TS/FOLDER` (with or without `/data`) → `(P, TS, FOLDER)`.
pub fn parse_src(src: &str) -> Option<(String, String, String)> {
    let s = src.strip_prefix("/data").unwrap_or(src);
    let rest = s.strip_prefix("/prearchive/projects/")?;
    let mut it = rest.trim_end_matches('/').split('/');
    let (p, ts, f) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    Some((p.to_string(), ts.to_string(), f.to_string()))
}

fn all_src(params: &Params) -> Vec<String> {
    params
        .iter()
        .filter(|(k, _)| *k == "src")
        .map(|(_, v)| v.to_string())
        .collect()
}

async fn archive_service(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let mut params = Params::parse(uri.query());
    params.merge_form(&headers, &body);
    let srcs = all_src(&params);
    if srcs.is_empty() {
        return restlet_error(StatusCode::BAD_REQUEST, "Missing src parameter.");
    }
    let mut target = match params.get("dest") {
        Some(d) => match ArchiveTarget::from_dest(d) {
            Some(t) => t,
            None => return restlet_error(StatusCode::BAD_REQUEST, &format!("Invalid dest: {d}")),
        },
        None => ArchiveTarget::default(),
    };
    for (key, slot) in [
        ("project", &mut target.project),
        ("subject", &mut target.subject),
        ("session", &mut target.session),
    ] {
        if let Some(v) = params.get(key) {
            *slot = Some(v.to_string());
        }
    }
    let overwrite = params.get("overwrite").unwrap_or("none").to_string();
    let mut st = app.write();
    let mut uris = Vec::new();
    for src in srcs {
        let Some(key) = parse_src(&src) else {
            return restlet_error(StatusCode::BAD_REQUEST, &format!("Invalid src: {src}"));
        };
        if key.0 == "Unassigned" {
            return restlet_error(
                StatusCode::BAD_REQUEST,
                "Cannot archive sessions from the Unassigned folder.",
            );
        }
        let i = match locate(&st, &caller, &key, true) {
            Ok(i) => i,
            Err(r) => return r,
        };
        match archive_session(&mut st, &caller, i, &target, &overwrite) {
            Ok(u) => uris.push(u),
            Err(r) => return r,
        }
    }
    if params.flag("redirect") {
        let mut r = uri_list(&uris);
        *r.status_mut() = StatusCode::SEE_OTHER;
        if let Some(v) = uris.first().and_then(|u| HeaderValue::from_str(u).ok()) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return r;
    }
    uri_list(&uris)
}

/// `POST /data/services/prearchive/{move,delete,rebuild}` with repeatable `src=`.
async fn batch(
    State(app): State<AppState>,
    caller: Caller,
    Path(op): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let mut params = Params::parse(uri.query());
    params.merge_form(&headers, &body);
    let mut st = app.write();
    let mut rows = Vec::new();
    let mut removed = Vec::new();
    for src in all_src(&params) {
        let Some(key) = parse_src(&src) else {
            return restlet_error(StatusCode::BAD_REQUEST, &format!("Invalid src: {src}"));
        };
        let i = match locate(&st, &caller, &key, true) {
            Ok(i) => i,
            Err(r) => return r,
        };
        match op.as_str() {
            "move" => {
                let Some(dest) = params.get("newProject").map(str::to_string) else {
                    return restlet_error(StatusCode::BAD_REQUEST, "Missing newProject.");
                };
                if !editable(&st, &caller, &dest) {
                    return restlet_error(StatusCode::FORBIDDEN, "");
                }
                if let Err(r) = move_entry(&mut st, i, &dest) {
                    return r;
                }
                rows.push(entry_row(&st.prearchive[i]));
            }
            "delete" => {
                let e = st.prearchive.remove(i);
                rows.push(entry_row(&e));
                removed.push(e);
            }
            "rebuild" => {
                st.prearchive[i].status = "READY".into();
                rows.push(entry_row(&st.prearchive[i]));
            }
            _ => return restlet_error(StatusCode::NOT_FOUND, ""),
        }
    }
    drop(st);
    for e in &removed {
        crate::routes::remove_paths(&disk_files(e));
    }
    ResultSet::new(rows).respond(params.format().as_deref())
}

#[cfg(test)]
mod tests;
