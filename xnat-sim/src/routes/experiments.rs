//! Experiments: listings, detail documents and history (fidelity spec §7.1–7.3, §21). Creation,
//! modification and deletion live in `experiment_edit.rs`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::access;
use crate::envelope::{field_children, items_response, json as json_resp, ItemNode};
use crate::params::{Caller, Params};
use crate::routes::common::{experiment_not_found, readable_project, ExperimentRef, SubjectRef};
use crate::routes::experiment_edit as edit;
use crate::routes::scans::scan_item;
use crate::state::{Experiment, State as SimState};
use crate::table::{self, Listing};
use crate::AppState;

pub fn router() -> Router<AppState> {
    // One handler per method, on the flat, project and project+subject forms alike.
    let item = get(detail).put(edit::put).delete(edit::delete);
    Router::new()
        .route("/data/experiments", get(list_all))
        .route("/data/projects/{project}/experiments", get(list_project))
        .route(
            "/data/projects/{project}/subjects/{subject}/experiments",
            get(list_subject),
        )
        .route("/data/experiments/{experiment}", item.clone())
        .route(
            "/data/projects/{project}/experiments/{experiment}",
            item.clone(),
        )
        .route(
            "/data/projects/{project}/subjects/{subject}/experiments/{experiment}",
            item,
        )
        .route("/data/experiments/{experiment}/history", get(history))
}

pub const SHORTCUTS: &[&str] = &[
    "ID",
    "visit_id",
    "visit",
    "protocol",
    "date",
    "time",
    "note",
    "pi_firstname",
    "pi_lastname",
    "validation_method",
    "validation_status",
    "validation_date",
    "validation_notes",
    "project",
    "label",
    "scanner",
    "operator",
    "dcmAccessionNumber",
    "dcmPatientId",
    "dcmPatientName",
    "session_type",
    "modality",
    "UID",
    "studyInstanceUID",
    "coil",
    "fieldStrength",
    "marker",
    "stabilization",
    "studyType",
    "patientID",
    "patientName",
    "scan_start_time",
    "injection_start_time",
    "subject_ID",
    "subject_label",
    "subject_project",
    "insert_date",
    "insert_user",
    "last_modified",
    "xsiType",
    "insert_time",
];

/// An experiment as seen from one project (share label and share project substituted).
pub struct View<'a> {
    pub e: &'a Experiment,
    pub project: &'a str,
    pub label: &'a str,
    pub subject_label: String,
    /// The one custom field of this row when the listing joins the field table.
    pub field: Option<(&'a str, &'a str)>,
}

fn view<'a>(st: &'a SimState, e: &'a Experiment, project: &'a str, label: &'a str) -> View<'a> {
    let subject_label = st
        .subjects
        .get(&e.subject_id)
        .map(|s| {
            if s.project == project {
                s.label.clone()
            } else {
                s.shares
                    .get(project)
                    .cloned()
                    .unwrap_or_else(|| s.label.clone())
            }
        })
        .unwrap_or_default();
    View {
        e,
        project,
        label,
        subject_label,
        field: None,
    }
}

pub fn cell(v: &View, key: &str) -> String {
    let e = v.e;
    if key.ends_with("/id") && key.contains(':') && !key.contains("/fields/") {
        return e.id.clone();
    }
    let k = crate::routes::common::strip_type(key).to_ascii_lowercase();
    match k.as_str() {
        "id" | "session_id" => e.id.clone(),
        "project" => v.project.to_string(),
        "label" => v.label.to_string(),
        "date" => e.date.clone().unwrap_or_default(),
        "time" => e.time.clone().unwrap_or_default(),
        "modality" => e.modality.clone().unwrap_or_default(),
        "xsitype" => e.xsi_type.clone(),
        "insert_date" => e.insert_date.clone(),
        "last_modified" => e.last_modified.clone(),
        "insert_time" => e.insert_date.split(' ').nth(1).unwrap_or("").to_string(),
        "insert_user" => e.insert_user.clone(),
        "subject_id" => e.subject_id.clone(),
        "subject_label" => v.subject_label.clone(),
        "subject_project" => e.project.clone(),
        _ => e
            .attrs
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(&k))
            .map(|(_, val)| val.clone())
            .or_else(|| table::custom_field_cell(key, &e.fields))
            .or_else(|| table::field_row_cell(key, v.field))
            .unwrap_or_default(),
    }
}

fn uri(v: &View) -> String {
    format!("/data/experiments/{}", v.e.id)
}

fn respond_list(views: Vec<View>, q: &Params, root_key: Option<&str>, all: bool) -> Response {
    let xsi = q.get_ci("xsiType").map(str::to_string);
    let views: Vec<View> = views
        .into_iter()
        .filter(|v| {
            xsi.as_deref()
                .is_none_or(|t| v.e.xsi_type.eq_ignore_ascii_case(t))
        })
        .collect();
    // One row per custom field when the field table is asked for (see `table::field_rows`).
    let views: Vec<View> = if table::wants_field_rows(q) {
        views
            .into_iter()
            .flat_map(|v| {
                table::field_rows(&v.e.fields)
                    .into_iter()
                    .map(move |field| View {
                        field,
                        subject_label: v.subject_label.clone(),
                        ..v
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    } else {
        views
    };
    let mut forced: Vec<String> = Vec::new();
    match &xsi {
        Some(t) => forced.push(format!("{}/id", t.to_ascii_lowercase())),
        None => {
            if all && q.has("columns") {
                // The generic root type is unsecured: project and element name are force-added.
                forced.push("project".into());
                forced.push("xsiType".into());
            }
            if let Some(k) = root_key {
                forced.push(k.to_string());
            }
        }
    }
    let forced_refs: Vec<&str> = forced.iter().map(String::as_str).collect();
    let listing = Listing {
        defaults: &["ID", "project", "date", "xsiType", "label", "insert_date"],
        shortcuts: SHORTCUTS,
        forced: &forced_refs,
        date_keys: &["date", "insert_date"],
    };
    let mut rs = table::build(views, q, &listing, |v, k| cell(v, k), uri);
    if all {
        rs.meta
            .insert(0, ("title".into(), "Matching experiments".into()));
    }
    rs.respond(q.format().as_deref())
}

async fn list_all(State(app): State<AppState>, caller: Caller, q: Params) -> Response {
    let st = app.read();
    let project_filter = q.get("project").map(str::to_string);
    let views: Vec<View> = st
        .experiments
        .values()
        .filter(|e| access::can_read_experiment(&st, &caller, e))
        .filter(|e| project_filter.as_deref().is_none_or(|p| e.project == p))
        .map(|e| view(&st, e, &e.project, &e.label))
        .collect();
    let mut q = q;
    q.0.retain(|(k, _)| k != "project");
    respond_list(views, &q, None, true)
}

/// Experiments of project `pid` (own and shared in), optionally only subject `sid`'s.
fn project_views<'a>(st: &'a SimState, pid: &'a str, sid: Option<&str>) -> Vec<View<'a>> {
    st.experiments
        .values()
        .filter(|e| sid.is_none_or(|s| e.subject_id == s))
        .filter_map(|e| {
            if e.project == pid {
                Some(view(st, e, &e.project, &e.label))
            } else {
                e.shares
                    .get_key_value(pid)
                    .map(|(p, l)| view(st, e, p.as_str(), l.as_str()))
            }
        })
        .collect()
}

async fn list_project(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    q: Params,
) -> Response {
    let st = app.read();
    let pid = match readable_project(&st, &caller, &project) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let views = project_views(&st, &pid, None);
    respond_list(views, &q, Some("xnat:subjectassessordata/id"), false)
}

async fn list_subject(
    State(app): State<AppState>,
    caller: Caller,
    subject: SubjectRef,
    q: Params,
) -> Response {
    let st = app.read();
    let (pid, sid) = match subject.resolve(&st, &caller) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let views = project_views(&st, &pid, Some(&sid));
    respond_list(views, &q, Some("xnat:subjectassessordata/id"), false)
}

pub fn experiment_item(st: &SimState, e: &Experiment) -> ItemNode {
    let subject_label = st
        .subjects
        .get(&e.subject_id)
        .map(|s| s.label.as_str())
        .unwrap_or("");
    let mut node = ItemNode::new(&e.xsi_type)
        .field("ID", e.id.as_str())
        .field("id", e.id.as_str())
        .field("label", e.label.as_str())
        .field("project", e.project.as_str())
        .field("subject_ID", e.subject_id.as_str())
        .opt("subject_label", Some(subject_label))
        .opt("date", e.date.as_deref())
        .opt("time", e.time.as_deref())
        .opt("modality", e.modality.as_deref())
        .field("insert_date", e.insert_date.as_str())
        .field("insert_user", e.insert_user.as_str());
    for (k, v) in &e.attrs {
        node = node.field(k, v.as_str());
    }
    let scans = e.scans.iter().map(|s| scan_item(e, s)).collect();
    let shares = e
        .shares
        .iter()
        .map(|(p, l)| {
            ItemNode::new("xnat:experimentData_share")
                .field("project", p.as_str())
                .field("label", l.as_str())
        })
        .collect();
    let resources = e
        .resources
        .iter()
        .map(|r| crate::routes::scans::resource_item(st, r))
        .collect();
    node = node
        .child("scans/scan", scans)
        .child("resources/resource", resources)
        .child("fields/field", field_children(&e.xsi_type, &e.fields))
        .child("sharing/share", shares);
    node.create_event_id = e.history.first().map(|h| h.event_id);
    node.start_date = Some(e.insert_date.clone());
    node
}

fn experiment_xml(e: &Experiment) -> String {
    use crate::envelope::xml_escape as x;
    let root = match e.xsi_type.split_once(':') {
        Some((_, t)) => t.trim_end_matches("Data").to_string(),
        None => "Experiment".into(),
    };
    let root = format!("xnat:{}{}", root[..1].to_ascii_uppercase(), &root[1..]);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} ID=\"{}\" project=\"{}\" label=\"{}\" xmlns:xnat=\"http://nrg.wustl.edu/xnat\">\n",
        x(&e.id), x(&e.project), x(&e.label)
    );
    if let Some(d) = &e.date {
        out.push_str(&format!("<xnat:date>{}</xnat:date>\n", x(d)));
    }
    out.push_str(&format!(
        "<xnat:subject_ID>{}</xnat:subject_ID>\n</{root}>\n",
        x(&e.subject_id)
    ));
    out
}

pub fn represent(st: &SimState, e: &Experiment, q: &Params) -> Response {
    match q.format().as_deref() {
        Some("json") => items_response(&experiment_item(st, e)),
        _ => crate::envelope::with_type(StatusCode::OK, "text/xml", experiment_xml(e)),
    }
}

async fn detail(
    State(app): State<AppState>,
    caller: Caller,
    experiment: ExperimentRef,
    q: Params,
) -> Response {
    let st = app.read();
    match experiment.resolve(&st, &caller) {
        Ok(id) => represent(&st, &st.experiments[&id], &q),
        Err(r) => r,
    }
}

async fn history(
    State(app): State<AppState>,
    caller: Caller,
    Path(experiment): Path<String>,
) -> Response {
    let st = app.read();
    let Some(e) = st
        .experiments
        .get(&experiment)
        .filter(|e| access::can_read_experiment(&st, &caller, e))
    else {
        return experiment_not_found();
    };
    let events: Vec<serde_json::Value> = e
        .history
        .iter()
        .map(|h| {
            json!({
                "event_id": h.event_id,
                "event_action": h.event_action,
                "event_date": h.event_date,
                "event_user": h.event_user,
                "event_type": h.event_type,
                "event_reason": h.event_reason,
                "event_category": h.event_category,
                "event_status": h.event_status,
                "changesets": [],
            })
        })
        .collect();
    json_resp(StatusCode::OK, &json!({ "events": events }))
}
