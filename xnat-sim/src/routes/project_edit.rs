//! Project create / update / delete (fidelity spec §5.2, §5.3).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use crate::access;
use crate::envelope::{ok_empty, restlet_error, text};
use crate::params::{Caller, Params};
use crate::routes::projects::{visible, SHORTCUTS};
use crate::state::{Accessibility, Project};
use crate::xml;
use crate::AppState;

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

pub async fn put_project(
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

pub async fn create_from_list(
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

pub async fn delete(
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
