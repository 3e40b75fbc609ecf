//! Scan listings of one experiment, and the parent-experiment quirk of the project-scoped URL.

use axum::extract::State;
use axum::response::Response;

use super::SHORTCUTS;
use crate::params::{Caller, Params};
use crate::routes::common::{strip_type, ExperimentRef};
use crate::state::{Experiment, Scan};
use crate::table::{self, Listing};
use crate::AppState;

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

/// `GET` on `/data[/projects/{P}/subjects/{S}]/experiments/{E}/scans`.
pub(super) async fn list(
    State(app): State<AppState>,
    caller: Caller,
    experiment: ExperimentRef,
    q: Params,
) -> Response {
    let st = app.read();
    let id = match experiment.resolve(&st, &caller) {
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
        &q,
        &listing,
        |s, k| cell(e, s, k),
        |s| format!("/data/experiments/{}/scans/{}", e.id, s.id),
    )
    .respond(q.format().as_deref())
}

/// XNAT routes `/data/projects/{P}/experiments/{E}/scans...` to the experiment resource, which
/// ignores the trailing path and answers with the experiment itself.
pub(super) async fn quirk_parent(
    State(app): State<AppState>,
    caller: Caller,
    experiment: ExperimentRef,
    q: Params,
) -> Response {
    let st = app.read();
    match experiment.resolve(&st, &caller) {
        Ok(id) => crate::routes::experiments::represent(&st, &st.experiments[&id], &q),
        Err(r) => r,
    }
}
