//! Stored searches and XML search (fidelity spec §17). Execution is simplified: the root element
//! picks projects, subjects or experiments of that type; `xdat:criteria` with `schema_field`,
//! `comparison_type` (`=`, `LIKE`, `!=`) and `value` filter on the field's last path part.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use crate::access;
use crate::envelope::{ok_empty, restlet_error, row, with_type, ResultSet, Row};
use crate::params::{Caller, Params};
use crate::state::{SavedSearch, State as SimState};
use crate::xml::{self, XmlNode};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/data/search", post(run_posted))
        .route("/data/search/saved", get(list))
        .route(
            "/data/search/saved/{key}",
            get(show).put(store).delete(remove),
        )
        .route("/data/search/saved/{key}/results", get(results))
}

async fn list(State(app): State<AppState>, caller: Caller, q: Params) -> Response {
    let st = app.read();
    let rows = st
        .saved_searches
        .values()
        .filter(|s| caller.admin || !s.secure || s.users.iter().any(|u| u == caller.name()))
        .map(|s| {
            // Exactly the columns (and order) recorded from XNAT 1.8.6 and 1.8.8.1: the
            // `xdat_stored_search` table plus `users` as Postgres array text; all strings.
            row([
                ("allow_diff_columns", String::new()),
                ("stored_search_info", String::new()),
                ("extension", String::new()),
                ("sort_by_field_id", String::new()),
                ("brief_description", s.brief_description.clone()),
                ("description", s.description.clone()),
                ("layeredsequence", String::new()),
                ("secure", s.secure.to_string()),
                ("users", format!("{{{}}}", s.users.join(","))),
                ("root_element_name", s.root_element_name.clone()),
                ("id", s.id.clone()),
                ("tag", s.tag.clone()),
                ("sort_by_element_name", s.sort_by.clone()),
            ])
        })
        .collect();
    ResultSet::new(rows)
        .meta("title", "Stored Searches")
        .with_total()
        .respond(q.format().as_deref())
}

fn not_found() -> Response {
    restlet_error(
        StatusCode::NOT_FOUND,
        "Unable to find the specified search.",
    )
}

async fn show(State(app): State<AppState>, Path(key): Path<String>) -> Response {
    match app.read().saved_searches.get(&key) {
        Some(s) => with_type(StatusCode::OK, "text/xml", s.xml.clone()),
        None => not_found(),
    }
}

/// Parse an `xdat:stored_search` (or `xdat:bundle`/`xdat:search`) document.
pub fn parse_search(id: &str, doc: &str) -> Result<SavedSearch, Response> {
    let node = xml::parse(doc.trim()).map_err(|e| {
        restlet_error(
            StatusCode::BAD_REQUEST,
            &format!("Unable to parse XML: {e}"),
        )
    })?;
    if !matches!(
        node.name.to_ascii_lowercase().as_str(),
        "stored_search" | "bundle" | "search"
    ) {
        return Err(restlet_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Expected an xdat:stored_search document.",
        ));
    }
    let root = node
        .text_at("root_element_name")
        .or_else(|| node.text_at("search/root_element_name"))
        .unwrap_or_default();
    Ok(SavedSearch {
        id: node.attr("ID").unwrap_or(id).to_string(),
        brief_description: node.attr("brief-description").unwrap_or("").to_string(),
        description: node.attr("description").unwrap_or("").to_string(),
        root_element_name: root,
        sort_by: node.text_at("sort_by/element_name").unwrap_or_default(),
        sort_order: String::new(),
        secure: node.attr("secure").is_some_and(|s| s == "true"),
        tag: node.attr("tag").unwrap_or("").to_string(),
        users: Vec::new(),
        xml: doc.to_string(),
    })
}

async fn store(
    State(app): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let mut s = match parse_search(&key, &String::from_utf8_lossy(&body)) {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.id = key.clone();
    s.users = vec![caller.name().to_string()];
    app.write().saved_searches.insert(key, s);
    ok_empty()
}

async fn remove(State(app): State<AppState>, Path(key): Path<String>) -> Response {
    match app.write().saved_searches.remove(&key) {
        Some(_) => ok_empty(),
        None => not_found(),
    }
}

/// `(field tail lower-cased, comparison, value)` criteria anywhere in the document.
fn criteria(node: &XmlNode, out: &mut Vec<(String, String, String)>) {
    if node.name.eq_ignore_ascii_case("criteria") {
        let field = node.text_at("schema_field").unwrap_or_default();
        let tail = field.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
        out.push((
            tail,
            node.text_at("comparison_type")
                .unwrap_or_else(|| "=".into()),
            node.text_at("value").unwrap_or_default(),
        ));
    }
    for c in &node.children {
        criteria(c, out);
    }
}

fn matches(r: &Row, crit: &[(String, String, String)]) -> bool {
    crit.iter().all(|(field, cmp, value)| {
        let cell = r
            .get(field)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let value = value.to_ascii_lowercase();
        match cmp.to_ascii_uppercase().as_str() {
            "LIKE" => {
                let pat = value.replace('%', "*");
                crate::faults::glob_match(pat.as_bytes(), cell.as_bytes())
            }
            "!=" => cell != value,
            _ => cell == value,
        }
    })
}

/// Rows for the root element, keyed by lower-case field IDs.
fn execute(st: &SimState, caller: &Caller, root: &str, doc: &str) -> ResultSet {
    let mut crit = Vec::new();
    if let Ok(node) = xml::parse(doc.trim()) {
        criteria(&node, &mut crit);
    }
    let lower = root.to_ascii_lowercase();
    let rows: Vec<Row> = if lower == "xnat:projectdata" {
        st.projects
            .values()
            .filter(|p| access::can_see_project(caller, p))
            .map(|p| {
                row([
                    ("id", p.id.clone()),
                    ("secondary_id", p.secondary_id.clone()),
                    ("name", p.name.clone()),
                    ("description", p.description.clone()),
                ])
            })
            .collect()
    } else if lower == "xnat:subjectdata" {
        st.subjects
            .values()
            .filter(|s| access::can_read_subject(st, caller, s))
            .map(|s| {
                row([
                    ("subject_id", s.id.clone()),
                    ("id", s.id.clone()),
                    ("label", s.label.clone()),
                    ("project", s.project.clone()),
                ])
            })
            .collect()
    } else {
        st.experiments
            .values()
            .filter(|e| {
                lower.is_empty()
                    || e.xsi_type.eq_ignore_ascii_case(root)
                    || lower == "xnat:experimentdata"
            })
            .filter(|e| access::can_read_experiment(st, caller, e))
            .map(|e| {
                row([
                    ("session_id", e.id.clone()),
                    ("id", e.id.clone()),
                    ("label", e.label.clone()),
                    ("project", e.project.clone()),
                    ("subject_id", e.subject_id.clone()),
                    ("date", e.date.clone().unwrap_or_default()),
                    ("xsitype", e.xsi_type.clone()),
                ])
            })
            .collect()
    };
    let rows: Vec<Row> = rows.into_iter().filter(|r| matches(r, &crit)).collect();
    let columns: Vec<serde_json::Value> = rows
        .first()
        .map(|r| {
            r.keys()
                .map(|k| json!({"key": k, "element_name": root, "id": k.to_ascii_uppercase(), "header": k, "type": "string", "visible": "true"}))
                .collect()
        })
        .unwrap_or_default();
    ResultSet::new(rows)
        .columns(serde_json::Value::Array(columns))
        .with_total()
        .meta("rootElementName", root)
}

async fn results(
    State(app): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    q: Params,
) -> Response {
    let st = app.read();
    let Some(s) = st.saved_searches.get(&key) else {
        return not_found();
    };
    if s.secure && !caller.admin && !s.users.iter().any(|u| u == caller.name()) {
        return restlet_error(StatusCode::FORBIDDEN, "");
    }
    execute(&st, &caller, &s.root_element_name, &s.xml).respond(q.format().as_deref())
}

async fn run_posted(
    State(app): State<AppState>,
    caller: Caller,
    q: Params,
    body: Bytes,
) -> Response {
    let doc = String::from_utf8_lossy(&body).to_string();
    let s = match parse_search("posted", &doc) {
        Ok(s) => s,
        Err(r) if r.status() == StatusCode::BAD_REQUEST => {
            return restlet_error(StatusCode::UNPROCESSABLE_ENTITY, "Not an XML document.")
        }
        Err(r) => return r,
    };
    let st = app.read();
    execute(&st, &caller, &s.root_element_name, &doc).respond(q.format().as_deref())
}
