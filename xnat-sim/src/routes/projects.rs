//! Projects: list, create (PUT query form, PUT/POST XML), detail, delete (fidelity spec §5).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::access;
use crate::envelope::{
    field_children, items_response, ok_empty, restlet_error, row, text, ItemNode, ResultSet,
};
use crate::params::{Caller, Params};
use crate::state::{Accessibility, Project, State as SimState};
use crate::table::{self, Listing};
use crate::xml;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/data/projects", get(list).post(create_from_list))
        .route(
            "/data/projects/{project}",
            get(detail)
                .put(put_project)
                .post(put_project)
                .delete(delete),
        )
}

pub const SHORTCUTS: &[&str] = &[
    "ID",
    "secondary_ID",
    "name",
    "description",
    "keywords",
    "alias",
    "pi_firstname",
    "pi_lastname",
    "note",
    "insert_date",
    "insert_user",
];

const FILTERED_TRIGGERS: &[&str] = &[
    "accessible",
    "data",
    "prearc_code",
    "owner",
    "member",
    "collaborator",
    "admin",
    "activeSince",
    "recent",
    "favorite",
];

fn cell(p: &Project, key: &str) -> String {
    let k = key
        .strip_prefix("xnat:projectdata/")
        .unwrap_or(key)
        .to_ascii_lowercase();
    match k.as_str() {
        "id" => p.id.clone(),
        "secondary_id" => p.secondary_id.clone(),
        "name" => p.name.clone(),
        "description" => p.description.clone(),
        "keywords" => p.keywords.clone(),
        "alias" | "aliases/alias/alias" => p.aliases.join(","),
        "pi_firstname" | "pi/firstname" => p.pi_firstname.clone(),
        "pi_lastname" | "pi/lastname" => p.pi_lastname.clone(),
        "note" => p.note.clone(),
        "insert_date" => p.insert_date.clone(),
        "insert_user" => p.insert_user.clone(),
        "accessibility" | "project_access" => p.accessibility.as_str().to_string(),
        _ => table::custom_field_cell(key, &p.fields)
            .or_else(|| table::custom_fields_joined(key, &p.fields))
            .unwrap_or_default(),
    }
}

async fn list(State(app): State<AppState>, caller: Caller, q: Params) -> Response {
    let st = app.read();
    if FILTERED_TRIGGERS.iter().any(|t| q.has(t)) {
        return filtered_list(&st, &caller, &q);
    }
    let items: Vec<&Project> = st
        .projects
        .values()
        .filter(|p| access::can_see_project(&caller, p))
        .filter(|p| match q.get_ci("restrict") {
            Some("edit") => access::can_edit(&caller, p),
            Some("delete") => access::can_delete(&caller, p),
            _ => true,
        })
        .collect();
    let listing = Listing {
        defaults: &[
            "ID",
            "secondary_ID",
            "name",
            "description",
            "pi_firstname",
            "pi_lastname",
        ],
        shortcuts: SHORTCUTS,
        forced: &[],
        date_keys: &["insert_date"],
    };
    let rs = table::build(
        items,
        &q,
        &listing,
        |p, k| cell(p, k),
        |p| format!("/data/projects/{}", p.id),
    );
    rs.respond(q.format().as_deref())
}

/// The display-search flavour (lower-case keys, `title: "Projects"`), see fidelity spec §5.1(b).
fn filtered_list(st: &SimState, caller: &Caller, q: &Params) -> Response {
    if let Some(d) = q.get_ci("data") {
        if d != "readable" && d != "writable" {
            return restlet_error(StatusCode::BAD_REQUEST, "");
        }
    }
    let user_id = st
        .users
        .get(caller.name())
        .map(|u| u.id)
        .unwrap_or_default();
    let want = |key: &str| q.get_ci(key).map(|v| v.eq_ignore_ascii_case("true"));
    let role_filter = [
        ("owner", crate::state::Role::Owner),
        ("member", crate::state::Role::Member),
        ("collaborator", crate::state::Role::Collaborator),
    ];
    let rows = st
        .projects
        .values()
        .filter(|p| match want("accessible") {
            Some(true) => access::can_see_project(caller, p),
            Some(false) => access::role(caller, p).is_none(),
            None => access::can_see_project(caller, p),
        })
        .filter(|p| {
            let asked: Vec<_> = role_filter
                .iter()
                .filter(|(k, _)| want(k) == Some(true))
                .collect();
            asked.is_empty()
                || asked
                    .iter()
                    .any(|(_, r)| access::role(caller, p) == Some(*r))
        })
        .filter(|p| match q.get_ci("data") {
            Some("writable") => access::can_edit(caller, p),
            Some(_) => access::can_read(caller, p),
            None => true,
        })
        .map(|p| {
            let role = access::role(caller, p).map(|r| r.display()).unwrap_or("");
            let icon = if p.accessibility == Accessibility::Private {
                "/@WEBAPPimages/key.gif"
            } else {
                "/@WEBAPPimages/globe.gif"
            };
            row([
                ("id", p.id.clone()),
                ("secondary_id", p.secondary_id.clone()),
                ("name", p.name.clone()),
                ("description", p.description.clone()),
                (
                    "pi",
                    format!("{} {}", p.pi_firstname, p.pi_lastname)
                        .trim()
                        .to_string(),
                ),
                ("project_invs", String::new()),
                ("project_access", p.accessibility.as_str().to_string()),
                ("project_access_img", icon.to_string()),
                ("insert_date", p.insert_date.clone()),
                ("insert_user", p.insert_user.clone()),
                (&format!("user_role_{user_id}") as &str, role.to_string()),
                (&format!("last_accessed_{user_id}") as &str, String::new()),
                ("quarantine_status", "active".to_string()),
            ])
        })
        .collect();
    ResultSet::new(rows)
        .meta("title", "Projects")
        .meta("xdat_user_id", user_id.to_string())
        .with_total()
        .respond(q.format().as_deref())
}

pub fn project_item(p: &Project) -> ItemNode {
    let mut node = ItemNode::new("xnat:projectData")
        .field("ID", p.id.as_str())
        .opt("secondary_ID", Some(&p.secondary_id))
        .opt("name", Some(&p.name))
        .opt("description", Some(&p.description))
        .opt("keywords", Some(&p.keywords))
        .opt("note", Some(&p.note))
        .opt("PI/firstname", Some(&p.pi_firstname))
        .opt("PI/lastname", Some(&p.pi_lastname))
        .field("accessibility", p.accessibility.as_str());
    let aliases = p
        .aliases
        .iter()
        .map(|a| ItemNode::new("xnat:projectData_alias").field("alias", a.as_str()))
        .collect();
    node = node.child("aliases/alias", aliases).child(
        "fields/field",
        field_children("xnat:projectData", &p.fields),
    );
    node.start_date = Some(p.insert_date.clone());
    node
}

fn project_xml(p: &Project) -> String {
    use crate::envelope::xml_escape as e;
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xnat:Project ID=\"{}\" secondary_ID=\"{}\" xmlns:xnat=\"http://nrg.wustl.edu/xnat\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n<xnat:name>{}</xnat:name>\n",
        e(&p.id),
        e(&p.secondary_id),
        e(&p.name)
    );
    if !p.description.is_empty() {
        out.push_str(&format!(
            "<xnat:description>{}</xnat:description>\n",
            e(&p.description)
        ));
    }
    if !p.keywords.is_empty() {
        out.push_str(&format!(
            "<xnat:keywords>{}</xnat:keywords>\n",
            e(&p.keywords)
        ));
    }
    if !p.pi_firstname.is_empty() || !p.pi_lastname.is_empty() {
        out.push_str(&format!(
            "<xnat:PI><xnat:firstname>{}</xnat:firstname><xnat:lastname>{}</xnat:lastname></xnat:PI>\n",
            e(&p.pi_firstname),
            e(&p.pi_lastname)
        ));
    }
    out.push_str("</xnat:Project>\n");
    out
}

/// Find a visible project by ID or alias; invisible or unknown → the 404 a real server sends.
pub fn visible<'a>(st: &'a SimState, caller: &Caller, key: &str) -> Result<&'a Project, Response> {
    match st.project_by_id_or_alias(key) {
        Some(p) if access::can_see_project(caller, p) => Ok(p),
        _ => Err(restlet_error(
            StatusCode::NOT_FOUND,
            "Unable to find the specified experiment.",
        )),
    }
}

async fn detail(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    q: Params,
) -> Response {
    let st = app.read();
    let p = match visible(&st, &caller, &project) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match q.format().as_deref() {
        Some("json") => items_response(&project_item(p)),
        _ => crate::envelope::with_type(StatusCode::OK, "text/xml", project_xml(p)),
    }
}

/// Fields a create/update may carry, from query params and/or an XML body.
#[derive(Debug, Default)]
struct ProjectInput {
    id: Option<String>,
    values: Vec<(String, String)>,
    accessibility: Option<String>,
}

fn read_input(q: &Params, body: &[u8]) -> Result<ProjectInput, Response> {
    let mut input = ProjectInput::default();
    let raw = String::from_utf8_lossy(body);
    if !raw.trim().is_empty() {
        let doc = xml::parse(raw.trim()).map_err(|e| {
            restlet_error(
                StatusCode::BAD_REQUEST,
                &format!("Unable to parse XML: {e}"),
            )
        })?;
        if !doc.name.eq_ignore_ascii_case("Project") {
            return Err(restlet_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Only xnat:Project documents can be PUT to this address.",
            ));
        }
        input.id = doc.attr("ID").filter(|s| !s.is_empty()).map(str::to_string);
        if let Some(s) = doc.attr("secondary_ID") {
            input.values.push(("secondary_ID".into(), s.to_string()));
        }
        for (path, key) in [
            ("name", "name"),
            ("description", "description"),
            ("keywords", "keywords"),
            ("PI/firstname", "pi_firstname"),
            ("PI/lastname", "pi_lastname"),
        ] {
            if let Some(v) = doc.text_at(path) {
                input.values.push((key.into(), v));
            }
        }
        if let Some(aliases) = doc.child("aliases") {
            for a in aliases.children_named("alias") {
                input
                    .values
                    .push(("alias".into(), a.text.trim().to_string()));
            }
        }
    }
    for (k, v) in q.iter() {
        let key = k.strip_prefix("xnat:projectData/").unwrap_or(k);
        let key = match key {
            "PI/firstname" => "pi_firstname",
            "PI/lastname" => "pi_lastname",
            other => other,
        };
        if SHORTCUTS.iter().any(|s| s.eq_ignore_ascii_case(key)) && key != "ID" {
            input.values.push((key.to_string(), v.to_string()));
        } else if k.eq_ignore_ascii_case("accessibility") {
            input.accessibility = Some(v.to_string());
        }
    }
    Ok(input)
}

fn apply(p: &mut Project, input: &ProjectInput) {
    for (k, v) in &input.values {
        match k.to_ascii_lowercase().as_str() {
            "secondary_id" => p.secondary_id = v.clone(),
            "name" => p.name = v.clone(),
            "description" => p.description = v.clone(),
            "keywords" => p.keywords = v.clone(),
            "pi_firstname" => p.pi_firstname = v.clone(),
            "pi_lastname" => p.pi_lastname = v.clone(),
            "note" => p.note = v.clone(),
            "alias" if !p.aliases.contains(v) => p.aliases.push(v.clone()),
            _ => {}
        }
    }
    if let Some(a) = input
        .accessibility
        .as_deref()
        .and_then(Accessibility::parse)
    {
        p.accessibility = a;
    }
}

pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Create or update `id`. `from_list`: POST /data/projects semantics (existing → 409).
fn upsert(
    app: &AppState,
    caller: &Caller,
    id: &str,
    input: &ProjectInput,
    from_list: bool,
) -> Result<bool, Response> {
    let mut st = app.write();
    if let Some(existing) = st.project_by_id_or_alias(id).map(|p| p.id.clone()) {
        if from_list {
            return Err(restlet_error(
                StatusCode::CONFLICT,
                "Project already exists.",
            ));
        }
        let p = &st.projects[&existing];
        if !access::can_see_project(caller, p) {
            return Err(restlet_error(StatusCode::NOT_FOUND, ""));
        }
        if !access::can_delete(caller, p) {
            return Err(restlet_error(StatusCode::FORBIDDEN, ""));
        }
        let p = st.projects.get_mut(&existing).expect("present");
        apply(p, input);
        return Ok(false);
    }
    if !valid_id(id) {
        return Err(restlet_error(
            StatusCode::EXPECTATION_FAILED,
            "Invalid character in project ID.",
        ));
    }
    if st.deleted_project_ids.contains(id) {
        return Err(restlet_error(StatusCode::FORBIDDEN, ""));
    }
    let allow_non_admin = st
        .site_config
        .get("uiAllowNonAdminProjectCreation")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(true);
    if caller.username.is_none() || (!caller.admin && !allow_non_admin) {
        return Err(restlet_error(StatusCode::FORBIDDEN, ""));
    }
    let mut p = Project::new(id, caller.name());
    apply(&mut p, input);
    let clash = st.projects.values().find(|o| {
        let keys = [&o.id, &o.name, &o.secondary_id];
        let mine = [&p.id, &p.name, &p.secondary_id];
        keys.iter()
            .chain(o.aliases.iter().collect::<Vec<_>>().iter())
            .any(|k| mine.iter().any(|m| m.eq_ignore_ascii_case(k)))
    });
    if let Some(o) = clash {
        return Err(restlet_error(
            StatusCode::CONFLICT,
            &format!(
                "Requested new project conflicts with existing projects: {}",
                o.id
            ),
        ));
    }
    st.projects.insert(id.to_string(), p);
    Ok(true)
}

async fn put_project(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    q: Params,
    body: Bytes,
) -> Response {
    let input = match read_input(&q, &body) {
        Ok(i) => i,
        Err(r) => return r,
    };
    if input.id.as_deref().is_some_and(|i| i != project) {
        return restlet_error(
            StatusCode::EXPECTATION_FAILED,
            "Project ID in the document does not match the URL.",
        );
    }
    match upsert(&app, &caller, &project, &input, false) {
        Ok(_) => ok_empty(),
        Err(r) => r,
    }
}

async fn create_from_list(
    State(app): State<AppState>,
    caller: Caller,
    q: Params,
    body: Bytes,
) -> Response {
    let input = match read_input(&q, &body) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let Some(id) = input.id.clone() else {
        return restlet_error(StatusCode::EXPECTATION_FAILED, "Missing project ID.");
    };
    match upsert(&app, &caller, &id, &input, true) {
        Ok(_) => {
            let uri = format!("/data/projects/{id}");
            let mut resp = text(StatusCode::OK, uri.clone());
            if let Ok(v) = HeaderValue::from_str(&uri) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            resp
        }
        Err(r) => r,
    }
}

async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    q: Params,
) -> Response {
    let mut st = app.write();
    let id = match visible(&st, &caller, &project) {
        Ok(p) if access::can_delete(&caller, p) => p.id.clone(),
        Ok(_) => return restlet_error(StatusCode::FORBIDDEN, ""),
        Err(r) => return r,
    };
    let remove_files = q.flag("removeFiles");
    let p = st.projects.remove(&id).expect("present");
    let mut paths = crate::routes::disk_paths(&p.resources);
    let subjects: Vec<String> = st
        .subjects
        .values()
        .filter(|s| s.project == id)
        .map(|s| s.id.clone())
        .collect();
    for s in subjects {
        if let Some(s) = st.subjects.remove(&s) {
            paths.extend(crate::routes::disk_paths(&s.resources));
        }
    }
    let experiments: Vec<String> = st
        .experiments
        .values()
        .filter(|e| e.project == id)
        .map(|e| e.id.clone())
        .collect();
    for e in experiments {
        if let Some(e) = st.experiments.remove(&e) {
            paths.extend(crate::routes::experiment_disk_paths(&e));
        }
    }
    for s in st.subjects.values_mut() {
        s.shares.remove(&id);
    }
    for e in st.experiments.values_mut() {
        e.shares.remove(&id);
    }
    st.deleted_project_ids.insert(id);
    drop(st);
    if remove_files {
        crate::routes::remove_paths(&paths);
    }
    ok_empty()
}
