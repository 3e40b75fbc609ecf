//! Subject create / modify / rename / delete (fidelity spec §6.2, §6.3, §11).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::access;
use crate::envelope::{ok_empty, restlet_error, text};
use crate::params::{Caller, Params};
use crate::routes::common::{
    custom_field_name, readable_project, resolve_subject, stored_field, strip_type,
    subject_not_found, SubjectRef,
};
use crate::routes::subjects::SHORTCUTS;
use crate::state::{now_timestamp, State as SimState, Subject};
use crate::xml;
use crate::AppState;

/// Values a PUT carries (query, form body, or `xnat:Subject` XML body).
fn collect_params(q: Params, headers: &HeaderMap, body: &[u8]) -> Result<Params, Response> {
    let mut params = q;
    params.merge_form(headers, body);
    let raw = String::from_utf8_lossy(body);
    if raw.trim_start().starts_with('<') {
        let doc = xml::parse(raw.trim()).map_err(|e| {
            restlet_error(
                StatusCode::BAD_REQUEST,
                &format!("Unable to parse XML: {e}"),
            )
        })?;
        if !doc.name.eq_ignore_ascii_case("Subject") {
            return Err(restlet_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Only xnat:Subject documents can be PUT to this address.",
            ));
        }
        for a in ["label", "project", "ID", "group", "src"] {
            if let Some(v) = doc.attr(a) {
                params.0.push((a.to_string(), v.to_string()));
            }
        }
        if let Some(fields) = doc.child("fields") {
            for f in fields.children_named("field") {
                if let Some(name) = f.attr("name") {
                    params.0.push((
                        format!("xnat:subjectData/fields/field[name={name}]/field"),
                        f.text.trim().to_string(),
                    ));
                }
            }
        }
    }
    Ok(params)
}

/// Apply modifications to subject `id`; rename collisions → 409.
fn modify(st: &mut SimState, id: &str, params: &Params) -> Result<(), Response> {
    let project = st.subjects[id].project.clone();
    for (k, v) in params.iter() {
        let key = strip_type(k);
        if let Some(name) = custom_field_name(k) {
            if let Some((name, v)) = stored_field(name, v) {
                st.subjects
                    .get_mut(id)
                    .expect("present")
                    .fields
                    .insert(name, v.to_string());
            }
        } else if key == "label" {
            if v != st.subjects[id].label && st.subject_label_taken(&project, v, id) {
                return Err(restlet_error(
                    StatusCode::CONFLICT,
                    "Specified label is already in use.",
                ));
            }
            st.subjects.get_mut(id).expect("present").label = v.to_string();
        } else if key == "project" {
            if v != project && st.project_by_id_or_alias(v).map(|p| &p.id) != Some(&project) {
                return Err(restlet_error(
                    StatusCode::CONFLICT,
                    "Project must be modified through separate URI.",
                ));
            }
        } else if key == "ID" {
            if v != id {
                return Err(restlet_error(
                    StatusCode::BAD_REQUEST,
                    "ID cannot be modified",
                ));
            }
        } else if SHORTCUTS.iter().any(|s| s.eq_ignore_ascii_case(key))
            && !matches!(key, "insert_date" | "insert_user" | "last_modified")
        {
            let canonical = SHORTCUTS
                .iter()
                .find(|s| s.eq_ignore_ascii_case(key))
                .copied()
                .unwrap_or(key);
            st.subjects
                .get_mut(id)
                .expect("present")
                .attrs
                .insert(canonical.to_string(), v.to_string());
        }
    }
    Ok(())
}

/// Create subject `label` in project `pid` (caller already checked). Returns the new ID.
pub fn create_subject(st: &mut SimState, pid: &str, label: &str, user: &str) -> String {
    let id = st.next_subject_id();
    st.subjects.insert(
        id.clone(),
        Subject {
            id: id.clone(),
            project: pid.to_string(),
            label: label.to_string(),
            insert_date: now_timestamp(),
            insert_user: user.to_string(),
            attrs: Default::default(),
            fields: Default::default(),
            shares: Default::default(),
            resources: Vec::new(),
        },
    );
    id
}

fn upsert(
    app: &AppState,
    caller: &Caller,
    project: &str,
    subject: &str,
    params: &Params,
) -> Response {
    let mut st = app.write();
    let pid = match readable_project(&st, caller, project) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let existing = resolve_subject(&st, &pid, subject).map(|s| s.id.clone());
    let (id, created) = match existing {
        Some(id) => {
            let s = &st.subjects[&id];
            if !access::can_read_subject(&st, caller, s) {
                return subject_not_found(Some(&pid), subject);
            }
            if !access::can_edit_subject(&st, caller, s) {
                return restlet_error(StatusCode::FORBIDDEN, "");
            }
            (id, false)
        }
        None => {
            if !access::can_edit(caller, &st.projects[&pid]) {
                return restlet_error(StatusCode::FORBIDDEN, "");
            }
            if let Some(other) = params.get("project").filter(|p| *p != pid) {
                let _ = other;
                return restlet_error(
                    StatusCode::CONFLICT,
                    "Project must be modified through separate URI.",
                );
            }
            let label = params.get("label").unwrap_or(subject).to_string();
            (create_subject(&mut st, &pid, &label, caller.name()), true)
        }
    };
    if let Err(r) = modify(&mut st, &id, params) {
        return r;
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    text(status, id)
}

/// `PUT` on `/data[/projects/{P}]/subjects/{S}`: create or modify. The flat form only modifies
/// (an unknown accession ID is 404), through the owning project.
pub async fn put(
    State(app): State<AppState>,
    caller: Caller,
    subject: SubjectRef,
    headers: HeaderMap,
    q: Params,
    body: Bytes,
) -> Response {
    let params = match collect_params(q, &headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let project = match subject.project {
        Some(p) => p,
        None => match app.read().subjects.get(&subject.subject) {
            Some(s) => s.project.clone(),
            None => return subject_not_found(None, &subject.subject),
        },
    };
    upsert(&app, &caller, &project, &subject.subject, &params)
}

/// `POST /data/projects/{P}/subjects` with an `xnat:Subject` document.
pub async fn post_xml(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    headers: HeaderMap,
    q: Params,
    body: Bytes,
) -> Response {
    let params = match collect_params(q, &headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(label) = params.get("label").map(str::to_string) else {
        return restlet_error(StatusCode::UNPROCESSABLE_ENTITY, "Missing subject label.");
    };
    if app.read().subject_by_label(&project, &label).is_some() {
        return restlet_error(StatusCode::CONFLICT, "Subject already exists.");
    }
    upsert(&app, &caller, &project, &label, &params)
}

/// Delete through the owning project, or unshare through a project it is shared into.
fn delete_subject(app: &AppState, caller: &Caller, pid: &str, sid: &str, q: &Params) -> Response {
    let mut st = app.write();
    let Some(p) = st.projects.get(pid) else {
        return subject_not_found(Some(pid), sid);
    };
    if !access::can_delete(caller, p) {
        return restlet_error(StatusCode::FORBIDDEN, "");
    }
    if st.subjects[sid].project != pid {
        st.subjects
            .get_mut(sid)
            .expect("present")
            .shares
            .remove(pid);
        return ok_empty();
    }
    let s = st.subjects.remove(sid).expect("present");
    let mut paths = crate::routes::disk_paths(&s.resources);
    let exps: Vec<String> = st
        .experiments
        .values()
        .filter(|e| e.subject_id == sid)
        .map(|e| e.id.clone())
        .collect();
    for e in exps {
        if let Some(e) = st.experiments.remove(&e) {
            paths.extend(crate::routes::experiment_disk_paths(&e));
        }
    }
    drop(st);
    if q.flag("removeFiles") {
        crate::routes::remove_paths(&paths);
    }
    ok_empty()
}

/// `DELETE` on `/data[/projects/{P}]/subjects/{S}`.
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    subject: SubjectRef,
    q: Params,
) -> Response {
    let (pid, sid) = match subject.resolve(&app.read(), &caller) {
        Ok(found) => found,
        Err(r) => return r,
    };
    delete_subject(&app, &caller, &pid, &sid, &q)
}
