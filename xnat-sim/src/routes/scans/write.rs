//! Creating or modifying a scan by PUT (query or form fields), and deleting it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{scan_type_for, SHORTCUTS};
use crate::access;
use crate::envelope::{ok_empty, restlet_error};
use crate::params::{Caller, Params};
use crate::routes::common::{strip_type, ScanRef};
use crate::state::Scan;
use crate::AppState;

fn upsert(app: &AppState, caller: &Caller, at: &ScanRef, params: &Params) -> Response {
    let scan = at.scan.as_str();
    let mut st = app.write();
    let id = match at.experiment.resolve(&st, caller) {
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

/// `PUT` on `/data[/projects/{P}/subjects/{S}]/experiments/{E}/scans/{C}`: create or modify.
pub(super) async fn put(
    State(app): State<AppState>,
    caller: Caller,
    at: ScanRef,
    headers: HeaderMap,
    q: Params,
    body: Bytes,
) -> Response {
    let mut q = q;
    q.merge_form(&headers, &body);
    upsert(&app, &caller, &at, &q)
}

/// `DELETE` on `/data[/projects/{P}/subjects/{S}]/experiments/{E}/scans/{C}`.
pub(super) async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    at: ScanRef,
    q: Params,
) -> Response {
    let mut st = app.write();
    let id = match at.experiment.resolve(&st, &caller) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let project = st.experiments[&id].project.clone();
    if !st
        .projects
        .get(&project)
        .is_some_and(|p| access::can_delete(&caller, p))
    {
        return restlet_error(StatusCode::FORBIDDEN, "");
    }
    let e = st.experiments.get_mut(&id).expect("present");
    let Some(pos) = e.scans.iter().position(|s| s.id == at.scan) else {
        return restlet_error(StatusCode::NOT_FOUND, "Unable to find the specified scan.");
    };
    let s = e.scans.remove(pos);
    drop(st);
    if q.flag("removeFiles") {
        crate::routes::remove_paths(&crate::routes::disk_paths(&s.resources));
    }
    ok_empty()
}
