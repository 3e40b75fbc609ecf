//! Subjects: list, create/modify by PUT, detail, delete (fidelity spec §6, §11).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::access;
use crate::envelope::{field_children, items_response, ItemNode};
use crate::params::{Caller, Params};
use crate::routes::common::{readable_project, SubjectRef};
use crate::state::Subject;
use crate::table::{self, Listing};
use crate::AppState;

use crate::routes::subject_edit as edit;
pub use crate::routes::subject_edit::create_subject;

pub fn router() -> Router<AppState> {
    // One handler per method, on the project-scoped and flat forms alike.
    let item = get(detail).put(edit::put).delete(edit::delete);
    Router::new()
        .route("/data/subjects", get(list_all))
        .route(
            "/data/projects/{project}/subjects",
            get(list_project).post(edit::post_xml),
        )
        .route("/data/projects/{project}/subjects/{subject}", item.clone())
        .route("/data/subjects/{subject}", item)
}

pub const SHORTCUTS: &[&str] = &[
    "ID",
    "project",
    "label",
    "group",
    "src",
    "pi_firstname",
    "pi_lastname",
    "dob",
    "yob",
    "age",
    "gender",
    "handedness",
    "ses",
    "education",
    "educationDesc",
    "race",
    "ethnicity",
    "weight",
    "height",
    "gestational_age",
    "post_menstrual_age",
    "birth_weight",
    "insert_date",
    "insert_user",
    "last_modified",
];

const LISTING: Listing = Listing {
    defaults: &["ID", "project", "label", "insert_date", "insert_user"],
    shortcuts: SHORTCUTS,
    forced: &[],
    date_keys: &["insert_date", "dob"],
};

/// A subject as seen from one project (share label substituted, project stays the owner).
#[derive(Clone, Copy)]
struct View<'a> {
    s: &'a Subject,
    label: &'a str,
    /// The one custom field of this row when the listing joins the field table.
    field: Option<(&'a str, &'a str)>,
}

/// One view per field row when `columns` asks for the field table (see [`table::field_rows`]).
fn with_field_rows<'a>(views: Vec<View<'a>>, q: &Params) -> Vec<View<'a>> {
    if !table::wants_field_rows(q) {
        return views;
    }
    views
        .into_iter()
        .flat_map(|v| {
            table::field_rows(&v.s.fields)
                .into_iter()
                .map(move |field| View { field, ..v })
        })
        .collect()
}

fn cell(v: &View, key: &str) -> String {
    let s = v.s;
    let k = key
        .strip_prefix("xnat:subjectdata/")
        .unwrap_or(key)
        .to_ascii_lowercase();
    match k.as_str() {
        "id" => s.id.clone(),
        "project" => s.project.clone(),
        "label" => v.label.to_string(),
        "insert_date" | "last_modified" => s.insert_date.clone(),
        "insert_user" => s.insert_user.clone(),
        _ => s
            .attrs
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(&k))
            .map(|(_, val)| val.clone())
            .or_else(|| table::custom_field_cell(key, &s.fields))
            .or_else(|| table::field_row_cell(key, v.field))
            .unwrap_or_default(),
    }
}

async fn list_all(State(app): State<AppState>, caller: Caller, q: Params) -> Response {
    let st = app.read();
    let items: Vec<View> = st
        .subjects
        .values()
        .filter(|s| access::can_read_subject(&st, &caller, s))
        .map(|s| View {
            s,
            label: &s.label,
            field: None,
        })
        .collect();
    let items = with_field_rows(items, &q);
    table::build(items, &q, &LISTING, cell, |v| {
        format!("/data/subjects/{}", v.s.id)
    })
    .respond(q.format().as_deref())
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
    let items: Vec<View> = st
        .subjects
        .values()
        .filter_map(|s| {
            if s.project == pid {
                Some(View {
                    s,
                    label: &s.label,
                    field: None,
                })
            } else {
                s.shares.get(&pid).map(|l| View {
                    s,
                    label: l,
                    field: None,
                })
            }
        })
        .collect();
    let items = with_field_rows(items, &q);
    table::build(items, &q, &LISTING, cell, |v| {
        format!("/data/subjects/{}", v.s.id)
    })
    .respond(q.format().as_deref())
}

pub fn subject_item(s: &Subject) -> ItemNode {
    let mut node = ItemNode::new("xnat:subjectData")
        .field("ID", s.id.as_str())
        .field("project", s.project.as_str())
        .field("label", s.label.as_str())
        .field("insert_date", s.insert_date.as_str())
        .field("insert_user", s.insert_user.as_str());
    for (k, v) in &s.attrs {
        node = node.field(k, v.as_str());
    }
    let shares = s
        .shares
        .iter()
        .map(|(p, l)| {
            ItemNode::new("xnat:projectParticipant")
                .field("project", p.as_str())
                .field("label", l.as_str())
        })
        .collect();
    node = node
        .child(
            "fields/field",
            field_children("xnat:subjectData", &s.fields),
        )
        .child("sharing/share", shares);
    node.start_date = Some(s.insert_date.clone());
    node
}

fn subject_xml(s: &Subject) -> String {
    use crate::envelope::xml_escape as e;
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xnat:Subject ID=\"{}\" project=\"{}\" label=\"{}\" xmlns:xnat=\"http://nrg.wustl.edu/xnat\">\n",
        e(&s.id), e(&s.project), e(&s.label)
    );
    if !s.fields.is_empty() {
        out.push_str("<xnat:fields>\n");
        for (k, v) in &s.fields {
            out.push_str(&format!(
                "<xnat:field name=\"{}\">{}</xnat:field>\n",
                e(k),
                e(v)
            ));
        }
        out.push_str("</xnat:fields>\n");
    }
    out.push_str("</xnat:Subject>\n");
    out
}

fn represent(s: &Subject, q: &Params) -> Response {
    match q.format().as_deref() {
        Some("json") => items_response(&subject_item(s)),
        _ => crate::envelope::with_type(StatusCode::OK, "text/xml", subject_xml(s)),
    }
}

async fn detail(
    State(app): State<AppState>,
    caller: Caller,
    subject: SubjectRef,
    q: Params,
) -> Response {
    let st = app.read();
    match subject.resolve(&st, &caller) {
        Ok((_, sid)) => represent(&st.subjects[&sid], &q),
        Err(r) => r,
    }
}
