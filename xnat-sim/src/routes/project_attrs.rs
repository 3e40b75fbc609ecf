//! Project attributes and membership: accessibility, prearchive code, users, access requests
//! (fidelity spec §5.3, §4 last line).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};
use axum::Router;

use crate::access;
use crate::envelope::{ok_empty, restlet_error, row, text, ResultSet};
use crate::params::{Caller, Params};
use crate::routes::projects::visible;
use crate::state::{Accessibility, Role};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/data/projects/{project}/accessibility", get(get_access))
        .route(
            "/data/projects/{project}/accessibility/{key}",
            put(set_access),
        )
        .route("/data/projects/{project}/prearchive_code", get(get_code))
        .route(
            "/data/projects/{project}/prearchive_code/{key}",
            put(set_code),
        )
        .route("/data/projects/{project}/current_arc", get(current_arc))
        .route("/data/projects/{project}/users", get(users))
        .route(
            "/data/projects/{project}/users/{key}/{user}",
            put(add_user).delete(remove_user),
        )
        .route("/data/projects/{project}/pars", get(pars))
}

async fn get_access(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> Response {
    let st = app.read();
    match visible(&st, &caller, &project) {
        Ok(p) => text(StatusCode::OK, p.accessibility.as_str()),
        Err(r) => r,
    }
}

async fn set_access(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, level)): Path<(String, String)>,
) -> Response {
    let mut st = app.write();
    let id = match visible(&st, &caller, &project) {
        Ok(p) if access::can_delete(&caller, p) => p.id.clone(),
        Ok(_) => return restlet_error(StatusCode::FORBIDDEN, ""),
        Err(r) => return r,
    };
    let Some(level) = Accessibility::parse(&level) else {
        return restlet_error(StatusCode::BAD_REQUEST, "Invalid accessibility");
    };
    let allow = st
        .site_config
        .get("securityAllowNonPrivateProjects")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(true);
    if level != Accessibility::Private && !allow && !caller.admin {
        return restlet_error(StatusCode::FORBIDDEN, "");
    }
    st.projects.get_mut(&id).expect("present").accessibility = level;
    ok_empty()
}

async fn get_code(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> Response {
    let st = app.read();
    match visible(&st, &caller, &project) {
        Ok(p) => text(StatusCode::OK, p.prearchive_code.to_string()),
        Err(r) => r,
    }
}

async fn set_code(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, code)): Path<(String, String)>,
) -> Response {
    let mut st = app.write();
    let id = match visible(&st, &caller, &project) {
        Ok(p) if access::can_delete(&caller, p) => p.id.clone(),
        Ok(_) => return restlet_error(StatusCode::FORBIDDEN, ""),
        Err(r) => return r,
    };
    let code = match code.to_ascii_lowercase().as_str() {
        "0" | "false" => 0,
        "4" | "true" => 4,
        "5" => 5,
        _ => return restlet_error(StatusCode::BAD_REQUEST, ""),
    };
    st.projects.get_mut(&id).expect("present").prearchive_code = code;
    ok_empty()
}

async fn current_arc(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> Response {
    let st = app.read();
    match visible(&st, &caller, &project) {
        Ok(_) => text(StatusCode::OK, "arc001"),
        Err(r) => r,
    }
}

async fn users(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    q: Params,
) -> Response {
    let st = app.read();
    let p = match visible(&st, &caller, &project) {
        Ok(p) if access::can_read(&caller, p) => p,
        Ok(_) => return restlet_error(StatusCode::FORBIDDEN, ""),
        Err(r) => return r,
    };
    let mut rows = Vec::new();
    for (role, set) in [
        (Role::Owner, &p.owners),
        (Role::Member, &p.members),
        (Role::Collaborator, &p.collaborators),
    ] {
        for login in set {
            let (first, last, email, uid) = st
                .users
                .get(login)
                .map(|u| {
                    (
                        u.first_name.clone(),
                        u.last_name.clone(),
                        u.email.clone(),
                        u.id.to_string(),
                    )
                })
                .unwrap_or_default();
            rows.push(row([
                ("role", role.display().to_string()),
                ("login", login.clone()),
                ("firstname", first.clone()),
                ("lastname", last.clone()),
                ("email", email),
                ("GROUP_ID", format!("{}_{}", p.id, role.as_str())),
                ("displayname", format!("{first} {last}")),
                ("xdat_user_id", uid),
            ]));
        }
    }
    ResultSet::new(rows)
        .with_total()
        .respond(q.format().as_deref())
}

fn membership_target(
    app: &AppState,
    caller: &Caller,
    project: &str,
    group: &str,
    user: &str,
) -> Result<(String, Role), Response> {
    let st = app.read();
    let p = match visible(&st, caller, project) {
        Ok(p) if access::can_delete(caller, p) => p,
        Ok(_) => return Err(restlet_error(StatusCode::FORBIDDEN, "")),
        Err(r) => return Err(r),
    };
    let Some(role) = Role::parse(group) else {
        return Err(restlet_error(
            StatusCode::BAD_REQUEST,
            &format!("Unknown group: {group}"),
        ));
    };
    if !st.users.contains_key(user) {
        return Err(restlet_error(
            StatusCode::NOT_FOUND,
            &format!("Unable to identify user: {user}"),
        ));
    }
    Ok((p.id.clone(), role))
}

async fn add_user(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, group, user)): Path<(String, String, String)>,
) -> Response {
    let (id, role) = match membership_target(&app, &caller, &project, &group, &user) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let mut st = app.write();
    let p = st.projects.get_mut(&id).expect("present");
    for r in [Role::Owner, Role::Member, Role::Collaborator] {
        p.role_set_mut(r).remove(&user);
    }
    p.role_set_mut(role).insert(user);
    ok_empty()
}

async fn remove_user(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, group, user)): Path<(String, String, String)>,
) -> Response {
    let (id, role) = match membership_target(&app, &caller, &project, &group, &user) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let mut st = app.write();
    let p = st.projects.get_mut(&id).expect("present");
    if p.role_set_mut(role).remove(&user) {
        ok_empty()
    } else {
        restlet_error(
            StatusCode::NOT_FOUND,
            &format!("User {user} is not in group {group}"),
        )
    }
}

async fn pars(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    q: Params,
) -> Response {
    let st = app.read();
    let p = match visible(&st, &caller, &project) {
        Ok(p) if access::can_delete(&caller, p) => p,
        Ok(_) => return restlet_error(StatusCode::FORBIDDEN, ""),
        Err(r) => return r,
    };
    let rows = p
        .access_requests
        .iter()
        .map(|r| {
            row([
                ("par_id", r.par_id.to_string()),
                ("login", r.approver.clone()),
                ("email", r.email.clone()),
                ("level", r.level.clone()),
                ("create_date", r.create_date.clone()),
                (
                    "approved",
                    r.approved.map(|a| a.to_string()).unwrap_or_default(),
                ),
            ])
        })
        .collect();
    ResultSet::new(rows)
        .with_total()
        .respond(q.format().as_deref())
}
