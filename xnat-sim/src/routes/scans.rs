//! Scans: list, detail, create/modify by PUT, delete (fidelity spec §8), and the quirk that
//! `/data/projects/{P}/experiments/{E}/scans` answers with the parent experiment document.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::access;
use crate::envelope::{items_response, ok_empty, restlet_error, ItemNode};
use crate::params::{Caller, Params};
use crate::routes::common::{resolve_experiment_path, strip_type};
use crate::state::{Experiment, Resource, Scan, State as SimState};
use crate::table::{self, Listing};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/data/experiments/{experiment}/scans", get(list_flat))
        .route(
            "/data/projects/{project}/subjects/{subject}/experiments/{experiment}/scans",
            get(list_subject),
        )
        .route(
            "/data/projects/{project}/experiments/{experiment}/scans",
            get(quirk_parent),
        )
        .route(
            "/data/projects/{project}/experiments/{experiment}/scans/{scan}",
            get(quirk_parent_scan),
        )
        .route(
            "/data/experiments/{experiment}/scans/{scan}",
            get(detail_flat).put(put_flat).delete(delete_flat),
        )
        .route(
            "/data/projects/{project}/subjects/{subject}/experiments/{experiment}/scans/{scan}",
            get(detail_subject).put(put_subject).delete(delete_subject),
        )
}

pub const SHORTCUTS: &[&str] = &[
    "ID",
    "type",
    "UID",
    "note",
    "quality",
    "condition",
    "series_description",
    "documentation",
    "scanner",
    "modality",
    "frames",
    "validation_method",
    "validation_status",
    "validation_date",
    "validation_notes",
    "scanTime",
    "coil",
    "fieldStrength",
    "marker",
    "stabilization",
    "orientation",
    "xnat_imagescandata_id",
    "insert_date",
    "insert_user",
    "last_modified",
    "xsiType",
];

/// `xnat:mrSessionData` → `MR` etc.
pub fn modality_of(xsi_type: &str) -> Option<String> {
    let t = xsi_type.to_ascii_lowercase();
    let m = [
        ("xnat:mr", "MR"),
        ("xnat:ct", "CT"),
        ("xnat:pet", "PT"),
        ("xnat:us", "US"),
        ("xnat:cr", "CR"),
        ("xnat:dx", "DX"),
        ("xnat:mg", "MG"),
        ("xnat:xa", "XA"),
        ("xnat:nm", "NM"),
        ("xnat:eeg", "EEG"),
    ]
    .iter()
    .find(|(p, _)| t.starts_with(p))
    .map(|(_, m)| m.to_string());
    m
}

/// Session type → its scan type (`xnat:mrSessionData` → `xnat:mrScanData`).
pub fn scan_type_for(session_xsi: &str) -> String {
    if session_xsi.contains("SessionData") {
        session_xsi.replace("SessionData", "ScanData")
    } else {
        "xnat:otherDicomScanData".to_string()
    }
}

fn cell(e: &Experiment, s: &Scan, key: &str) -> String {
    let k = strip_type(key).to_ascii_lowercase();
    match k.as_str() {
        "id" => s.id.clone(),
        "xnat_imagescandata_id" => s.pk.to_string(),
        "type" => s.scan_type.clone(),
        "series_description" => s.series_description.clone(),
        "quality" => s.quality.clone(),
        "note" => s.note.clone(),
        "xsitype" => s.xsi_type.clone(),
        "frames" => s.frames.map(|f| f.to_string()).unwrap_or_default(),
        "image_session_id" => e.id.clone(),
        _ => s
            .attrs
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(&k))
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    }
}

fn list(
    app: &AppState,
    caller: &Caller,
    path: (Option<&str>, Option<&str>, &str),
    q: &Params,
) -> Response {
    let st = app.read();
    let id = match resolve_experiment_path(&st, caller, path.0, path.1, path.2) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let e = &st.experiments[&id];
    let xsi = q.get_ci("xsiType");
    let scans: Vec<&Scan> = e
        .scans
        .iter()
        .filter(|s| xsi.is_none_or(|t| s.xsi_type.eq_ignore_ascii_case(t)))
        .collect();
    let listing = Listing {
        defaults: &[
            "xnat_imagescandata_id",
            "ID",
            "type",
            "quality",
            "xsiType",
            "note",
            "series_description",
        ],
        shortcuts: SHORTCUTS,
        forced: &[],
        date_keys: &[],
    };
    table::build(
        scans,
        q,
        &listing,
        |s, k| cell(e, s, k),
        |s| format!("/data/experiments/{}/scans/{}", e.id, s.id),
    )
    .respond(q.format().as_deref())
}

async fn list_flat(
    State(app): State<AppState>,
    caller: Caller,
    Path(experiment): Path<String>,
    q: Params,
) -> Response {
    list(&app, &caller, (None, None, &experiment), &q)
}

async fn list_subject(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, subject, experiment)): Path<(String, String, String)>,
    q: Params,
) -> Response {
    list(
        &app,
        &caller,
        (Some(&project), Some(&subject), &experiment),
        &q,
    )
}

/// XNAT routes `/data/projects/{P}/experiments/{E}/scans...` to the experiment resource, which
/// ignores the trailing path and answers with the experiment itself.
async fn quirk_parent(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, experiment)): Path<(String, String)>,
    q: Params,
) -> Response {
    let st = app.read();
    match resolve_experiment_path(&st, &caller, Some(&project), None, &experiment) {
        Ok(id) => crate::routes::experiments::represent(&st, &st.experiments[&id], &q),
        Err(r) => r,
    }
}

async fn quirk_parent_scan(
    state: State<AppState>,
    caller: Caller,
    Path((project, experiment, _scan)): Path<(String, String, String)>,
    q: Params,
) -> Response {
    quirk_parent(state, caller, Path((project, experiment)), q).await
}

pub fn resource_item(st: &SimState, r: &Resource) -> ItemNode {
    let catalog = st
        .data_dir
        .join("resources")
        .join(r.id.to_string())
        .join(format!("{}_catalog.xml", r.label));
    ItemNode::new("xnat:resourceCatalog")
        .field("xnat_abstractresource_id", r.id)
        .field("xnat_abstractResource_id", r.id)
        .field("label", r.label.as_str())
        .opt("format", Some(&r.format))
        .opt("content", Some(&r.content))
        .field("file_count", r.file_count())
        .field("file_size", r.file_size())
        .field("URI", catalog.to_string_lossy().to_string())
}

pub fn scan_item(e: &Experiment, s: &Scan) -> ItemNode {
    let mut node = ItemNode::new(&s.xsi_type)
        .field("xnat_imagescandata_id", s.pk)
        .field("xnat_imageScanData_id", s.pk)
        .field("ID", s.id.as_str())
        .opt("type", Some(&s.scan_type))
        .opt("series_description", Some(&s.series_description))
        .opt("quality", Some(&s.quality))
        .opt("note", Some(&s.note))
        .field("image_session_ID", e.id.as_str())
        .field("project", e.project.as_str());
    if let Some(f) = s.frames {
        node = node.field("frames", f);
    }
    for (k, v) in &s.attrs {
        node = node.field(k, v.as_str());
    }
    node.start_date = Some(e.insert_date.clone());
    node
}

fn detail(
    app: &AppState,
    caller: &Caller,
    path: (Option<&str>, Option<&str>, &str),
    scan: &str,
) -> Response {
    let st = app.read();
    let id = match resolve_experiment_path(&st, caller, path.0, path.1, path.2) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let e = &st.experiments[&id];
    match e.scan(scan) {
        Some(s) => {
            let resources = s.resources.iter().map(|r| resource_item(&st, r)).collect();
            items_response(&scan_item(e, s).child("file", resources))
        }
        None => restlet_error(StatusCode::NOT_FOUND, "Unable to find the specified scan."),
    }
}

async fn detail_flat(
    State(app): State<AppState>,
    caller: Caller,
    Path((experiment, scan)): Path<(String, String)>,
) -> Response {
    detail(&app, &caller, (None, None, &experiment), &scan)
}

async fn detail_subject(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, subject, experiment, scan)): Path<(String, String, String, String)>,
) -> Response {
    detail(
        &app,
        &caller,
        (Some(&project), Some(&subject), &experiment),
        &scan,
    )
}

fn upsert(
    app: &AppState,
    caller: &Caller,
    path: (Option<&str>, Option<&str>, &str),
    scan: &str,
    params: &Params,
) -> Response {
    let mut st = app.write();
    let id = match resolve_experiment_path(&st, caller, path.0, path.1, path.2) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if !access::can_edit_experiment(&st, caller, &st.experiments[&id]) {
        return restlet_error(StatusCode::FORBIDDEN, "");
    }
    let wanted_type = params.get_ci("xsiType").map(str::to_string);
    let exists = st.experiments[&id].scan(scan).is_some();
    if !exists {
        if !scan
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            return restlet_error(
                StatusCode::EXPECTATION_FAILED,
                "Invalid character in scan ID.",
            );
        }
        let xsi = wanted_type
            .clone()
            .unwrap_or_else(|| scan_type_for(&st.experiments[&id].xsi_type));
        let pk = st.next_scan_pk();
        st.experiments
            .get_mut(&id)
            .expect("present")
            .scans
            .push(Scan {
                id: scan.to_string(),
                pk,
                xsi_type: xsi,
                scan_type: String::new(),
                series_description: String::new(),
                quality: "usable".into(),
                frames: None,
                note: String::new(),
                attrs: Default::default(),
                resources: Vec::new(),
            });
    }
    let e = st.experiments.get_mut(&id).expect("present");
    let s = e.scan_mut(scan).expect("present");
    if let Some(t) = &wanted_type {
        if !t.eq_ignore_ascii_case(&s.xsi_type) {
            return restlet_error(
                StatusCode::CONFLICT,
                "Specified xsiType differs from existing xsiType",
            );
        }
    }
    for (k, v) in params.iter() {
        match strip_type(k) {
            "type" => s.scan_type = v.to_string(),
            "series_description" => s.series_description = v.to_string(),
            "quality" => s.quality = v.to_string(),
            "note" => s.note = v.to_string(),
            "frames" => s.frames = v.parse().ok(),
            "ID" | "xsiType" | "xnat_imagescandata_id" => {}
            other => {
                if let Some(canon) = SHORTCUTS.iter().find(|c| c.eq_ignore_ascii_case(other)) {
                    s.attrs.insert(canon.to_string(), v.to_string());
                }
            }
        }
    }
    ok_empty()
}

async fn put_flat(
    State(app): State<AppState>,
    caller: Caller,
    Path((experiment, scan)): Path<(String, String)>,
    headers: HeaderMap,
    q: Params,
    body: Bytes,
) -> Response {
    let mut q = q;
    q.merge_form(&headers, &body);
    upsert(&app, &caller, (None, None, &experiment), &scan, &q)
}

async fn put_subject(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, subject, experiment, scan)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    q: Params,
    body: Bytes,
) -> Response {
    let mut q = q;
    q.merge_form(&headers, &body);
    upsert(
        &app,
        &caller,
        (Some(&project), Some(&subject), &experiment),
        &scan,
        &q,
    )
}

fn delete(
    app: &AppState,
    caller: &Caller,
    path: (Option<&str>, Option<&str>, &str),
    scan: &str,
    q: &Params,
) -> Response {
    let mut st = app.write();
    let id = match resolve_experiment_path(&st, caller, path.0, path.1, path.2) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let project = st.experiments[&id].project.clone();
    if !st
        .projects
        .get(&project)
        .is_some_and(|p| access::can_delete(caller, p))
    {
        return restlet_error(StatusCode::FORBIDDEN, "");
    }
    let e = st.experiments.get_mut(&id).expect("present");
    let Some(pos) = e.scans.iter().position(|s| s.id == scan) else {
        return restlet_error(StatusCode::NOT_FOUND, "Unable to find the specified scan.");
    };
    let s = e.scans.remove(pos);
    drop(st);
    if q.flag("removeFiles") {
        crate::routes::remove_paths(&crate::routes::disk_paths(&s.resources));
    }
    ok_empty()
}

async fn delete_flat(
    State(app): State<AppState>,
    caller: Caller,
    Path((experiment, scan)): Path<(String, String)>,
    q: Params,
) -> Response {
    delete(&app, &caller, (None, None, &experiment), &scan, &q)
}

async fn delete_subject(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, subject, experiment, scan)): Path<(String, String, String, String)>,
    q: Params,
) -> Response {
    delete(
        &app,
        &caller,
        (Some(&project), Some(&subject), &experiment),
        &scan,
        &q,
    )
}
