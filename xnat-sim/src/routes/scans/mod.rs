//! Scans: list, detail, create/modify by PUT, delete (fidelity spec §8), and the quirk that
//! `/data/projects/{P}/experiments/{E}/scans` answers with the parent experiment document.
//!
//! [`list`] answers the listings (and the quirk), [`detail`] the scan documents, and [`write`] the
//! PUT and DELETE requests; the field names and type mappings they share live here.

mod detail;
mod list;
mod write;

pub use detail::{resource_item, scan_item};

use axum::routing::get;
use axum::Router;

use crate::AppState;
use detail::{detail_flat, detail_subject};
use list::{list_flat, list_subject, quirk_parent, quirk_parent_scan};
use write::{delete_flat, delete_subject, put_flat, put_subject};

/// The scan routes, flat (`/data/experiments/...`) and project/subject-scoped.
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

/// The scan fields a query or PUT may name (canonical spelling).
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
