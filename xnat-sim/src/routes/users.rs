//! XAPI users (`/xapi/users...`, fidelity spec §4). Errors are XAPI-style: empty bodies.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};
use axum::Router;
use serde_json::{json, Value};

use crate::envelope::{json, text, xapi_error};
use crate::params::Caller;
use crate::state::{Role, State as SimState, User};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/xapi/users", get(list_users).post(create_user))
        .route("/xapi/users/username", get(username))
        .route("/xapi/users/profile", get(profile))
        .route("/xapi/users/profiles", get(profiles))
        .route("/xapi/users/active", get(active))
        .route(
            "/xapi/users/active/{user}",
            get(active_of).delete(kill_sessions),
        )
        .route("/xapi/users/{user}", get(get_user))
        .route("/xapi/users/{user}/enabled", get(get_enabled))
        .route("/xapi/users/{user}/enabled/{key}", put(set_enabled))
        .route("/xapi/users/{user}/roles", get(roles))
        .route(
            "/xapi/users/{user}/roles/{role}",
            put(grant_role).delete(revoke_role),
        )
        .route("/xapi/users/{user}/groups", get(groups).put(add_groups))
}

/// The XAPI `User` document (nulls omitted; dates as epoch milliseconds).
pub fn user_json(u: &User) -> Value {
    json!({
        "id": u.id,
        "username": u.username,
        "firstName": u.first_name,
        "lastName": u.last_name,
        "email": u.email,
        "enabled": u.enabled,
        "verified": u.verified,
        "secured": true,
    })
}

fn forbidden() -> Response {
    xapi_error(StatusCode::FORBIDDEN, "")
}

fn self_or_admin(caller: &Caller, user: &str) -> bool {
    caller.admin || caller.username.as_deref() == Some(user)
}

async fn username(caller: Caller) -> Response {
    text(StatusCode::OK, caller.name().to_string())
}

async fn list_users(State(app): State<AppState>, caller: Caller) -> Response {
    if !caller.admin {
        return forbidden();
    }
    let names: Vec<String> = app.read().users.keys().cloned().collect();
    json(StatusCode::OK, &json!(names))
}

async fn profiles(State(app): State<AppState>, caller: Caller) -> Response {
    if !caller.admin {
        return forbidden();
    }
    let list: Vec<Value> = app.read().users.values().map(user_json).collect();
    json(StatusCode::OK, &Value::Array(list))
}

async fn profile(State(app): State<AppState>, caller: Caller) -> Response {
    match app.read().users.get(caller.name()) {
        Some(u) => json(StatusCode::OK, &user_json(u)),
        None => xapi_error(StatusCode::NOT_FOUND, ""),
    }
}

async fn get_user(
    State(app): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
) -> Response {
    if !self_or_admin(&caller, &user) {
        return forbidden();
    }
    match app.read().users.get(&user) {
        Some(u) => json(StatusCode::OK, &user_json(u)),
        None => xapi_error(StatusCode::NOT_FOUND, ""),
    }
}

async fn create_user(State(app): State<AppState>, caller: Caller, body: Bytes) -> Response {
    if !caller.admin {
        return forbidden();
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return xapi_error(StatusCode::BAD_REQUEST, "Invalid user document");
    };
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let name = s("username");
    if name.is_empty() {
        return xapi_error(StatusCode::BAD_REQUEST, "username is required");
    }
    let mut st = app.write();
    if st.users.contains_key(&name) {
        return xapi_error(StatusCode::CONFLICT, "");
    }
    let u = st.add_user(&name, &s("password"), false);
    for (key, field) in [
        ("firstName", &mut u.first_name),
        ("lastName", &mut u.last_name),
        ("email", &mut u.email),
    ] {
        if let Some(val) = v.get(key).and_then(Value::as_str) {
            *field = val.to_string();
        }
    }
    if let Some(e) = v.get("enabled").and_then(Value::as_bool) {
        u.enabled = e;
    }
    json(StatusCode::CREATED, &user_json(u))
}

async fn get_enabled(
    State(app): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
) -> Response {
    if !self_or_admin(&caller, &user) {
        return forbidden();
    }
    match app.read().users.get(&user) {
        Some(u) => json(StatusCode::OK, &Value::Bool(u.enabled)),
        None => xapi_error(StatusCode::NOT_FOUND, ""),
    }
}

async fn set_enabled(
    State(app): State<AppState>,
    caller: Caller,
    Path((user, flag)): Path<(String, String)>,
) -> Response {
    if !caller.admin {
        return forbidden();
    }
    let mut st = app.write();
    match st.users.get_mut(&user) {
        Some(u) => {
            u.enabled = flag.eq_ignore_ascii_case("true");
            text(StatusCode::OK, "")
        }
        None => xapi_error(StatusCode::NOT_FOUND, ""),
    }
}

async fn roles(State(app): State<AppState>, caller: Caller, Path(user): Path<String>) -> Response {
    if !self_or_admin(&caller, &user) {
        return forbidden();
    }
    match app.read().users.get(&user) {
        Some(u) => json(StatusCode::OK, &json!(u.roles)),
        None => xapi_error(StatusCode::NOT_FOUND, ""),
    }
}

/// Project groups (`P_owner`, ...) plus `ALL_DATA_ADMIN` for admins.
pub fn groups_of(st: &SimState, user: &str) -> Vec<String> {
    let mut out: Vec<String> = st
        .projects
        .values()
        .filter_map(|p| p.role_of(user).map(|r| format!("{}_{}", p.id, r.as_str())))
        .collect();
    if st.users.get(user).is_some_and(|u| u.admin) {
        out.push("ALL_DATA_ADMIN".into());
    }
    out
}

async fn groups(State(app): State<AppState>, caller: Caller, Path(user): Path<String>) -> Response {
    if !self_or_admin(&caller, &user) {
        return forbidden();
    }
    let st = app.read();
    if !st.users.contains_key(&user) {
        return xapi_error(StatusCode::NOT_FOUND, "");
    }
    json(StatusCode::OK, &json!(groups_of(&st, &user)))
}

/// Session ids of `user`'s live sessions, sorted.
fn sessions_of(st: &SimState, user: &str) -> Vec<String> {
    let mut ids: Vec<String> = st
        .sessions
        .iter()
        .filter(|(_, s)| s.username == user)
        .map(|(id, _)| id.clone())
        .collect();
    ids.sort();
    ids
}

/// `GET /xapi/users/active` (admin): `{"user": {"sessions": [ids], "count": n}}`.
async fn active(State(app): State<AppState>, caller: Caller) -> Response {
    if !caller.admin {
        return forbidden();
    }
    let st = app.read();
    let mut out = serde_json::Map::new();
    for name in st.users.keys() {
        let ids = sessions_of(&st, name);
        if !ids.is_empty() {
            out.insert(name.clone(), json!({"count": ids.len(), "sessions": ids}));
        }
    }
    json(StatusCode::OK, &Value::Object(out))
}

/// `GET /xapi/users/active/{user}` (self/admin): the user's session ids; none → 304, as
/// `UsersApi.getUserActiveSessions` throws `NotModifiedException("No sessions found for user")`.
async fn active_of(
    State(app): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
) -> Response {
    if !self_or_admin(&caller, &user) {
        return forbidden();
    }
    let st = app.read();
    if !st.users.contains_key(&user) {
        return xapi_error(StatusCode::NOT_FOUND, "");
    }
    let ids = sessions_of(&st, &user);
    if ids.is_empty() {
        return not_modified();
    }
    json(StatusCode::OK, &json!(ids))
}

/// 304 with no body (HTTP forbids one), what XAPI's `NotModifiedException` becomes.
fn not_modified() -> Response {
    let mut r = Response::new(axum::body::Body::empty());
    *r.status_mut() = StatusCode::NOT_MODIFIED;
    r
}

/// `DELETE /xapi/users/active/{user}` (self/admin), XNAT's `UsersApi.invalidateUser`: invalidate
/// every session of the user and answer the ids that were ended, less the caller's own session
/// when users end their own. A user with no active session → 304 with no body ("Indicated user
/// has no active sessions, so no action was taken": `NotModifiedException`). XNAT answers a user
/// who never logged in since the last restart (no principal in Spring's session registry) with
/// `UserNotFoundException` instead, whose XAPI status the source does not pin (UNCONFIRMED); the
/// simulator answers 304 for both. An unknown user → 404.
async fn kill_sessions(
    State(app): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
) -> Response {
    if !self_or_admin(&caller, &user) {
        return forbidden();
    }
    let mut st = app.write();
    if !st.users.contains_key(&user) {
        return xapi_error(StatusCode::NOT_FOUND, "");
    }
    let ids = sessions_of(&st, &user);
    if ids.is_empty() {
        return not_modified();
    }
    st.sessions.retain(|_, s| s.username != user);
    let own = caller.session_id.as_deref();
    let ended: Vec<&String> = ids.iter().filter(|id| Some(id.as_str()) != own).collect();
    json(StatusCode::OK, &json!(ended))
}

/// `PUT /xapi/users/{user}/roles/{role}` (admin): grant a site role; 200 empty.
async fn grant_role(
    State(app): State<AppState>,
    caller: Caller,
    Path((user, role)): Path<(String, String)>,
) -> Response {
    if !caller.admin {
        return forbidden();
    }
    let mut st = app.write();
    let Some(u) = st.users.get_mut(&user) else {
        return xapi_error(StatusCode::NOT_FOUND, "");
    };
    if !u.roles.contains(&role) {
        u.roles.push(role.clone());
    }
    if role == "Administrator" {
        u.admin = true;
    }
    text(StatusCode::OK, "")
}

/// `DELETE /xapi/users/{user}/roles/{role}` (admin): revoke a site role; removing the last
/// Administrator is a 409.
async fn revoke_role(
    State(app): State<AppState>,
    caller: Caller,
    Path((user, role)): Path<(String, String)>,
) -> Response {
    if !caller.admin {
        return forbidden();
    }
    let mut st = app.write();
    if !st.users.contains_key(&user) {
        return xapi_error(StatusCode::NOT_FOUND, "");
    }
    let admins = st.users.values().filter(|u| u.admin).count();
    let Some(u) = st.users.get_mut(&user) else {
        return xapi_error(StatusCode::NOT_FOUND, "");
    };
    if role == "Administrator" {
        if u.admin && admins <= 1 {
            return xapi_error(StatusCode::CONFLICT, "");
        }
        u.admin = false;
    }
    u.roles.retain(|r| r != &role);
    text(StatusCode::OK, "")
}

/// `PUT /xapi/users/{user}/groups` (admin) body `["P_member", ...]`: join each project group;
/// 200 empty when all were added, else 202 with the JSON list of the groups that failed.
async fn add_groups(
    State(app): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    body: Bytes,
) -> Response {
    if !caller.admin {
        return forbidden();
    }
    let Ok(Value::Array(wanted)) = serde_json::from_slice::<Value>(&body) else {
        return xapi_error(StatusCode::BAD_REQUEST, "");
    };
    let mut st = app.write();
    if !st.users.contains_key(&user) {
        return xapi_error(StatusCode::NOT_FOUND, "");
    }
    let mut failed = Vec::new();
    for g in wanted
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
    {
        let target = g.rsplit_once('_').and_then(|(p, r)| {
            let id = st
                .projects
                .keys()
                .find(|k| k.eq_ignore_ascii_case(p))?
                .clone();
            Some((id, Role::parse(r)?))
        });
        match target {
            Some((id, role)) => {
                let p = st.projects.get_mut(&id).expect("present");
                for r in [Role::Owner, Role::Member, Role::Collaborator] {
                    p.role_set_mut(r).remove(&user);
                }
                p.role_set_mut(role).insert(user.clone());
            }
            None => failed.push(g),
        }
    }
    if failed.is_empty() {
        text(StatusCode::OK, "")
    } else {
        json(StatusCode::ACCEPTED, &json!(failed))
    }
}
