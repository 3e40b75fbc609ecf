//! Sharing subjects and experiments into other projects (fidelity spec §10).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
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
    Router::new()
        .route(
            "/data/subjects/{subject}/projects",
            get(subject_projects_flat),
        )
        .route(
            "/data/projects/{project}/subjects/{subject}/projects",
            get(subject_projects),
        )
        .route(
            "/data/subjects/{subject}/projects/{key}",
            put(share_subject_flat).delete(unshare_subject_flat),
        )
        .route(
            "/data/projects/{project}/subjects/{subject}/projects/{key}",
            put(share_subject).delete(unshare_subject),
        )
        .route(
            "/data/experiments/{experiment}/projects",
            get(experiment_projects_flat),
        )
        .route(
            "/data/projects/{project}/experiments/{experiment}/projects",
            get(experiment_projects),
        )
        .route(
            "/data/experiments/{experiment}/projects/{key}",
            put(share_experiment_flat).delete(unshare_experiment_flat),
        )
        .route(
            "/data/projects/{project}/experiments/{experiment}/projects/{key}",
            put(share_experiment).delete(unshare_experiment),
        )
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

fn list(
    app: &AppState,
    caller: &Caller,
    kind: Kind,
    project: Option<&str>,
    key: &str,
    q: &Params,
) -> Response {
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

fn share(
    app: &AppState,
    caller: &Caller,
    kind: Kind,
    project: Option<&str>,
    key: &str,
    dest: &str,
    q: &Params,
) -> Response {
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

fn unshare(
    app: &AppState,
    caller: &Caller,
    kind: Kind,
    project: Option<&str>,
    key: &str,
    dest: &str,
) -> Response {
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

async fn subject_projects_flat(
    State(app): State<AppState>,
    caller: Caller,
    Path(subject): Path<String>,
    q: Params,
) -> Response {
    list(&app, &caller, Kind::Subject, None, &subject, &q)
}

async fn subject_projects(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, subject)): Path<(String, String)>,
    q: Params,
) -> Response {
    list(&app, &caller, Kind::Subject, Some(&project), &subject, &q)
}

async fn share_subject_flat(
    State(app): State<AppState>,
    caller: Caller,
    Path((subject, dest)): Path<(String, String)>,
    q: Params,
) -> Response {
    share(&app, &caller, Kind::Subject, None, &subject, &dest, &q)
}

async fn share_subject(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, subject, dest)): Path<(String, String, String)>,
    q: Params,
) -> Response {
    share(
        &app,
        &caller,
        Kind::Subject,
        Some(&project),
        &subject,
        &dest,
        &q,
    )
}

async fn unshare_subject_flat(
    State(app): State<AppState>,
    caller: Caller,
    Path((subject, dest)): Path<(String, String)>,
) -> Response {
    unshare(&app, &caller, Kind::Subject, None, &subject, &dest)
}

async fn unshare_subject(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, subject, dest)): Path<(String, String, String)>,
) -> Response {
    unshare(
        &app,
        &caller,
        Kind::Subject,
        Some(&project),
        &subject,
        &dest,
    )
}

async fn experiment_projects_flat(
    State(app): State<AppState>,
    caller: Caller,
    Path(experiment): Path<String>,
    q: Params,
) -> Response {
    list(&app, &caller, Kind::Experiment, None, &experiment, &q)
}

async fn experiment_projects(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, experiment)): Path<(String, String)>,
    q: Params,
) -> Response {
    list(
        &app,
        &caller,
        Kind::Experiment,
        Some(&project),
        &experiment,
        &q,
    )
}

async fn share_experiment_flat(
    State(app): State<AppState>,
    caller: Caller,
    Path((experiment, dest)): Path<(String, String)>,
    q: Params,
) -> Response {
    share(
        &app,
        &caller,
        Kind::Experiment,
        None,
        &experiment,
        &dest,
        &q,
    )
}

async fn share_experiment(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, experiment, dest)): Path<(String, String, String)>,
    q: Params,
) -> Response {
    share(
        &app,
        &caller,
        Kind::Experiment,
        Some(&project),
        &experiment,
        &dest,
        &q,
    )
}

async fn unshare_experiment_flat(
    State(app): State<AppState>,
    caller: Caller,
    Path((experiment, dest)): Path<(String, String)>,
) -> Response {
    unshare(&app, &caller, Kind::Experiment, None, &experiment, &dest)
}

async fn unshare_experiment(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, experiment, dest)): Path<(String, String, String)>,
) -> Response {
    unshare(
        &app,
        &caller,
        Kind::Experiment,
        Some(&project),
        &experiment,
        &dest,
    )
}
