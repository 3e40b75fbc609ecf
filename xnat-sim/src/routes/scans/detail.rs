//! One scan as an XNAT item document, with its resources as `file` children.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::envelope::{items_response, restlet_error, ItemNode};
use crate::params::Caller;
use crate::routes::common::ScanRef;
use crate::state::{Experiment, Resource, Scan, State as SimState};
use crate::AppState;

/// A resource as the `file` child of a scan or experiment document.
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

/// A scan as an XNAT item node (without its resources).
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

/// `GET` on `/data[/projects/{P}/subjects/{S}]/experiments/{E}/scans/{C}`.
pub(super) async fn detail(State(app): State<AppState>, caller: Caller, at: ScanRef) -> Response {
    let st = app.read();
    let id = match at.experiment.resolve(&st, &caller) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let e = &st.experiments[&id];
    match e.scan(&at.scan) {
        Some(s) => {
            let resources = s.resources.iter().map(|r| resource_item(&st, r)).collect();
            items_response(&scan_item(e, s).child("file", resources))
        }
        None => restlet_error(StatusCode::NOT_FOUND, "Unable to find the specified scan."),
    }
}
