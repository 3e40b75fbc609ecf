//! Sharing subjects and experiments into other projects (fidelity spec §10).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;

use crate::access;
use crate::envelope::{ok_empty, restlet_error, row, ResultSet};
use crate::params::{Caller, Params};
use crate::routes::common::{
    project_not_found, readable_project, resolve_experiment_path, resolve_subject,
    subject_not_found,
};
use crate::state::State as SimState;
use crate::AppState;

pub fn router() -> Router<AppState> {
    // One handler per action, whichever object and URL form (flat or project-scoped) it is on.
    Router::new()
        .route("/data/subjects/{subject}/projects", get(list))
        .route(
            "/data/projects/{project}/subjects/{subject}/projects",
            get(list),
        )
        .route(
            "/data/subjects/{subject}/projects/{key}",
            put(share).delete(unshare),
        )
        .route(
            "/data/projects/{project}/subjects/{subject}/projects/{key}",
            put(share).delete(unshare),
        )
        .route("/data/experiments/{experiment}/projects", get(list))
        .route(
            "/data/projects/{project}/experiments/{experiment}/projects",
            get(list),
        )
        .route(
            "/data/experiments/{experiment}/projects/{key}",
            put(share).delete(unshare),
        )
        .route(
            "/data/projects/{project}/experiments/{experiment}/projects/{key}",
            put(share).delete(unshare),
        )
}

/// The shared object a sharing URL names, and the destination project `{key}` if any.
struct Shared {
    kind: Kind,
    project: Option<String>,
    key: String,
    dest: String,
}

impl Shared {
    fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Shared {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let (kind, key) = match (params.remove("subject"), params.remove("experiment")) {
            (Some(s), _) => (Kind::Subject, s),
            (None, Some(e)) => (Kind::Experiment, e),
            (None, None) => return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        };
        Ok(Shared {
            kind,
            key,
            project: params.remove("project"),
            dest: params.remove("key").unwrap_or_default(),
        })
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Subject,
    Experiment,
}

/// Resolve the shared object to its accession ID (must be readable).
fn target(
    st: &SimState,
    caller: &Caller,
    kind: Kind,
    project: Option<&str>,
    key: &str,
) -> Result<String, Response> {
    match kind {
        Kind::Subject => {
            let s = match project {
                Some(p) => {
                    let pid = readable_project(st, caller, p)?;
                    resolve_subject(st, &pid, key)
                }
                None => st.subjects.get(key),
            };
            match s {
                Some(s) if access::can_read_subject(st, caller, s) => Ok(s.id.clone()),
                _ => Err(subject_not_found(project, key)),
            }
        }
        Kind::Experiment => resolve_experiment_path(st, caller, project, None, key),
    }
}

/// (owner project, own label, shares)
fn parts(st: &SimState, kind: Kind, id: &str) -> (String, String, Vec<(String, String)>) {
    match kind {
        Kind::Subject => {
            let s = &st.subjects[id];
            let shares = s
                .shares
                .iter()
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect();
            (s.project.clone(), s.label.clone(), shares)
        }
        Kind::Experiment => {
            let e = &st.experiments[id];
            let shares = e
                .shares
                .iter()
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect();
            (e.project.clone(), e.label.clone(), shares)
        }
    }
}

async fn list(State(app): State<AppState>, caller: Caller, at: Shared, q: Params) -> Response {
    let (caller, kind, project, key) = (&caller, at.kind, at.project(), at.key.as_str());
    let st = app.read();
    let id = match target(&st, caller, kind, project, key) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let (owner, label, shares) = parts(&st, kind, &id);
    let rows = std::iter::once((owner, label))
        .chain(shares)
        .filter_map(|(pid, label)| {
            let p = st.projects.get(&pid)?;
            Some(row([
                ("ID", p.id.clone()),
                ("secondary_ID", p.secondary_id.clone()),
                ("name", p.name.clone()),
                ("description", p.description.clone()),
                ("pi_firstname", p.pi_firstname.clone()),
                ("pi_lastname", p.pi_lastname.clone()),
                ("label", label),
                ("URI", format!("/data/projects/{}", p.id)),
            ]))
        })
        .collect();
    ResultSet::new(rows)
        .with_total()
        .respond(q.format().as_deref())
}

async fn share(State(app): State<AppState>, caller: Caller, at: Shared, q: Params) -> Response {
    let (caller, kind, project, key) = (&caller, at.kind, at.project(), at.key.as_str());
    let dest = at.dest.as_str();
    let mut st = app.write();
    let id = match target(&st, caller, kind, project, key) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let dest_id = match st.project_by_id_or_alias(dest) {
        Some(p) if access::can_see_project(caller, p) => p.id.clone(),
        _ => return project_not_found(dest),
    };
    if !access::can_edit(caller, &st.projects[&dest_id]) {
        return restlet_error(StatusCode::FORBIDDEN, "");
    }
    let (owner, own_label, shares) = parts(&st, kind, &id);
    let label = q.get("label").unwrap_or(&own_label).to_string();
    let existing = shares
        .iter()
        .find(|(p, _)| *p == dest_id)
        .map(|(_, l)| l.clone());
    if dest_id == owner
        || existing
            .as_deref()
            .is_some_and(|l| l == label || !q.has("label"))
    {
        return restlet_error(
            StatusCode::CONFLICT,
            &format!("Already assigned to project:{dest_id}"),
        );
    }
    let taken = match kind {
        Kind::Subject => st.subject_label_taken(&dest_id, &label, &id),
        Kind::Experiment => st.experiment_label_taken(&dest_id, &label, &id),
    };
    if taken {
        return restlet_error(
            StatusCode::CONFLICT,
            &format!("Label already in use:{label}"),
        );
    }
    let primary = q.flag("primary");
    if primary {
        let can = st
            .projects
            .get(&owner)
            .is_some_and(|p| access::can_delete(caller, p))
            && access::can_delete(caller, &st.projects[&dest_id]);
        if !can {
            return restlet_error(StatusCode::FORBIDDEN, "");
        }
    }
    match kind {
        Kind::Subject => {
            let s = st.subjects.get_mut(&id).expect("present");
            if primary {
                s.shares.remove(&dest_id);
                s.project = dest_id;
                s.label = label;
            } else {
                s.shares.insert(dest_id, label);
            }
        }
        Kind::Experiment => {
            let e = st.experiments.get_mut(&id).expect("present");
            if primary {
                e.shares.remove(&dest_id);
                e.project = dest_id;
                e.label = label;
            } else {
                e.shares.insert(dest_id, label);
            }
        }
    }
    ok_empty()
}

async fn unshare(State(app): State<AppState>, caller: Caller, at: Shared) -> Response {
    let (caller, kind, project, key) = (&caller, at.kind, at.project(), at.key.as_str());
    let dest = at.dest.as_str();
    let mut st = app.write();
    let id = match target(&st, caller, kind, project, key) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let dest_id = match st.project_by_id_or_alias(dest) {
        Some(p) if access::can_see_project(caller, p) => p.id.clone(),
        _ => return project_not_found(dest),
    };
    let (owner, _, shares) = parts(&st, kind, &id);
    if !shares.iter().any(|(p, _)| *p == dest_id) {
        return restlet_error(
            StatusCode::NOT_FOUND,
            &format!("Not shared into project:{dest_id}"),
        );
    }
    let allowed = access::can_delete(caller, &st.projects[&dest_id])
        || st
            .projects
            .get(&owner)
            .is_some_and(|p| access::can_delete(caller, p));
    if !allowed {
        return restlet_error(StatusCode::FORBIDDEN, "");
    }
    match kind {
        Kind::Subject => st.subjects.get_mut(&id).map(|s| s.shares.remove(&dest_id)),
        Kind::Experiment => st
            .experiments
            .get_mut(&id)
            .map(|e| e.shares.remove(&dest_id)),
    };
    ok_empty()
}
