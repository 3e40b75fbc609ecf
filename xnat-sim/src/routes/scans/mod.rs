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
use detail::detail;
use list::{list, quirk_parent};
use write::{delete, put};

/// The scan routes, flat (`/data/experiments/...`) and project/subject-scoped; one handler per
/// method serves every form.
pub fn router() -> Router<AppState> {
    let item = get(detail).put(put).delete(delete);
    Router::new()
        .route("/data/experiments/{experiment}/scans", get(list))
        .route(
            "/data/projects/{project}/subjects/{subject}/experiments/{experiment}/scans",
            get(list),
        )
        .route(
            "/data/projects/{project}/experiments/{experiment}/scans",
            get(quirk_parent),
        )
        .route(
            "/data/projects/{project}/experiments/{experiment}/scans/{scan}",
            get(quirk_parent),
        )
        .route("/data/experiments/{experiment}/scans/{scan}", item.clone())
        .route(
            "/data/projects/{project}/subjects/{subject}/experiments/{experiment}/scans/{scan}",
            item,
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
