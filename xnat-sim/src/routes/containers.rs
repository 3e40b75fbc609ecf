//! The Container Service plugin (fidelity spec §18; NrgXnat/container-service `rest/
//! CommandRestApi`, `CommandConfigurationRestApi`, `LaunchRestApi`, `ContainerRestApi`): commands
//! with their wrappers, wrapper enablement and configuration per site and per project, launches
//! and the containers they create, their logs, and kill.
//!
//! Rules kept from the plugin:
//! * creating, replacing and deleting commands, and the site-wide wrapper settings, need the
//!   container-manager role (an admin here; 403 otherwise, `checkContainerManagerOrThrow`);
//! * `version` without `name` when listing is 400; create answers **201** with the bare new id,
//!   delete **204**; update replaces the whole command: wrappers left out are deleted, wrappers
//!   keep their id only when it is one of this command's, wrappers without an id get a new one;
//! * wrappers are addressed by id under `/xapi/wrappers/{id}` and by *name* under
//!   `/xapi/commands/{id}/wrappers/{name}` (`@PathVariable String wrapperName`);
//! * a configuration write enables the wrapper unless `enable=false`, which leaves the enabled
//!   state as it was (`CommandServiceImpl.configureForSite`: "We will never change enabled to
//!   false here"), and reading a configuration always answers (the command's defaults merged with
//!   what was stored), 404 only for an unknown wrapper;
//! * the project launch route (`/projects/{p}/wrappers/{id}/launch`, JSON body) only queues: it
//!   answers `success` with `workflow-id` `To be assigned` even for an unknown wrapper, and the
//!   container appears only when the wrapper is enabled for the site and the project; an unknown
//!   project is a 500 `There was an error in the request : null` (both observed live by the
//!   reference);
//! * containers are listed for their owner, project owners and admins only; an unknown
//!   container is 404 `No container with ID n`, except on `logs/{file}`, which answers 500;
//!   killing a container that no longer runs is the Docker daemon's 500.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::envelope::{json as json_response, text, xapi_error};
use crate::params::{Caller, Params};
use crate::state::containers::{wrappers, Outcome, RunPlan, SimContainer};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/xapi/commands", get(list_commands).post(create_command))
        .route(
            "/xapi/commands/{id}",
            get(get_command).post(update_command).delete(delete_command),
        )
        .route(
            "/xapi/commands/{id}/wrappers/{wrapper}/enabled",
            get(named_site_enabled).put(named_enable),
        )
        .route(
            "/xapi/commands/{id}/wrappers/{wrapper}/disabled",
            put(named_disable),
        )
        .route(
            "/xapi/wrappers/{wrapper}/enabled",
            get(site_enabled).put(site_enable),
        )
        .route("/xapi/wrappers/{wrapper}/disabled", put(site_disable))
        .route(
            "/xapi/wrappers/{wrapper}/config",
            get(site_config).post(set_site_config),
        )
        .route(
            "/xapi/projects/{project}/wrappers/{wrapper}/enabled",
            get(project_enabled).put(project_enable),
        )
        .route(
            "/xapi/projects/{project}/wrappers/{wrapper}/disabled",
            put(project_disable),
        )
        .route(
            "/xapi/projects/{project}/wrappers/{wrapper}/config",
            get(project_config).post(set_project_config),
        )
        .route(
            "/xapi/projects/{project}/wrappers/{wrapper}/launch",
            post(launch),
        )
        .route("/xapi/containers", get(list_containers))
        .route(
            "/xapi/projects/{project}/containers",
            get(list_project_containers),
        )
        .route("/xapi/containers/{id}", get(get_container))
        .route("/xapi/containers/{id}/kill", post(kill))
        .route("/xapi/containers/{id}/logs/{file}", get(logs))
        .route("/__sim/containers/plan", post(set_plan))
}

type Reply = Result<Response, Response>;

/// `m` with `id` set and moved first, as the plugin's beans serialise it.
fn with_id_first(m: Map<String, Value>, id: u64) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("id".into(), Value::from(id));
    out.extend(m.into_iter().filter(|(k, _)| k != "id"));
    out
}

fn forbidden() -> Response {
    xapi_error(StatusCode::FORBIDDEN, "")
}

fn bad_request(msg: &str) -> Response {
    text(StatusCode::BAD_REQUEST, format!("Bad request:\n{msg}"))
}

fn invalid(errors: &[String]) -> Response {
    text(
        StatusCode::BAD_REQUEST,
        format!("Invalid command:\n\t{}", errors.join("\n\t")),
    )
}

fn manager(caller: &Caller) -> Result<(), Response> {
    if caller.admin {
        Ok(())
    } else {
        Err(forbidden())
    }
}

fn parse_id(raw: &str, what: &str) -> Result<u64, Response> {
    raw.parse::<u64>().map_err(|_| {
        bad_request(&format!(
            "Failed to convert value of type 'java.lang.String' to required type 'long'; {what} '{raw}'"
        ))
    })
}

// ---- commands ----------------------------------------------------------------------------

/// Commands a caller may see: all for the container manager; public and protected ones (and
/// private ones enabled on a project they can read) for others (`CommandRestApi.filter`).
fn visible(app: &AppState, caller: &Caller, c: &Map<String, Value>) -> bool {
    if caller.admin {
        return true;
    }
    match c.get("visibility").and_then(Value::as_str) {
        Some("private") => {
            let st = app.read();
            wrappers(c)
                .filter_map(|w| w.get("id").and_then(Value::as_u64))
                .any(|wid| {
                    st.cs.project_enabled.iter().any(|(p, w)| {
                        *w == wid
                            && st
                                .projects
                                .get(p)
                                .is_some_and(|p| crate::access::can_read(caller, p))
                    })
                })
        }
        _ => true,
    }
}

async fn list_commands(State(app): State<AppState>, caller: Caller, q: Params) -> Reply {
    let name = q.get("name").filter(|s| !s.is_empty());
    let version = q.get("version").filter(|s| !s.is_empty());
    let image = q.get("image").filter(|s| !s.is_empty());
    if version.is_some() && name.is_none() {
        return Err(bad_request(
            "If \"version\" is specified, must specify \"name\" as well.",
        ));
    }
    let all: Vec<Map<String, Value>> = app.read().cs.commands.values().cloned().collect();
    let out: Vec<Value> = all
        .into_iter()
        .filter(|c| {
            let is = |k: &str, want: Option<&str>| {
                want.is_none_or(|w| c.get(k).and_then(Value::as_str) == Some(w))
            };
            is("name", name) && is("version", version) && is("image", image)
        })
        .filter(|c| visible(&app, &caller, c))
        .map(Value::Object)
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(out)))
}

async fn get_command(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> Reply {
    let id = parse_id(&id, "id")?;
    let c = app.read().cs.commands.get(&id).cloned();
    match c {
        Some(c) if visible(&app, &caller, &c) => {
            Ok(json_response(StatusCode::OK, &Value::Object(c)))
        }
        _ => Err(text(
            StatusCode::NOT_FOUND,
            format!("No command with ID {id}."),
        )),
    }
}

/// The body as a command object with its validation errors (`CommandValidation`): a name, an
/// image, and a name on every wrapper. Unknown keys are kept.
fn command_body(body: &[u8]) -> Result<Map<String, Value>, Response> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| bad_request(&format!("JSON parse error: {e}")))?;
    let Value::Object(mut c) = v else {
        return Err(bad_request("The body of the request must be a Command."));
    };
    let mut errors = Vec::new();
    let blank = |c: &Map<String, Value>, k: &str| {
        c.get(k)
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
    };
    if blank(&c, "name") {
        errors.push("Command name cannot be blank.".to_string());
    }
    if blank(&c, "image") {
        errors.push("Command \"image\" cannot be blank.".to_string());
    }
    match c.get("xnat") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ws)) => {
            for w in ws {
                if !w.is_object() || blank(w.as_object().unwrap_or(&Map::new()), "name") {
                    errors.push("Command wrapper name cannot be blank.".to_string());
                }
            }
        }
        Some(_) => errors.push("Command \"xnat\" must be a list of wrappers.".to_string()),
    }
    if !errors.is_empty() {
        return Err(invalid(&errors));
    }
    c.entry("type").or_insert_with(|| Value::from("docker"));
    Ok(c)
}

async fn create_command(State(app): State<AppState>, caller: Caller, body: Bytes) -> Reply {
    manager(&caller)?;
    let mut c = command_body(&body)?;
    let mut st = app.write();
    let key = |c: &Map<String, Value>| {
        (
            c.get("name").cloned(),
            c.get("version").cloned(),
            c.get("image").cloned(),
        )
    };
    if st.cs.commands.values().any(|o| key(o) == key(&c)) {
        return Err(bad_request(&format!(
            "A command with name {} and version {} already exists for image {}.",
            c.get("name").map(Value::to_string).unwrap_or_default(),
            c.get("version").map(Value::to_string).unwrap_or_default(),
            c.get("image").map(Value::to_string).unwrap_or_default()
        )));
    }
    st.cs.next_command += 1;
    let id = st.cs.next_command;
    c = with_id_first(c, id);
    if let Some(Value::Array(ws)) = c.get_mut("xnat") {
        for w in ws.iter_mut() {
            if let Value::Object(m) = w {
                st.cs.next_wrapper += 1;
                *m = with_id_first(std::mem::take(m), st.cs.next_wrapper);
            }
        }
    }
    st.cs.commands.insert(id, c);
    Ok(json_response(StatusCode::CREATED, &Value::from(id)))
}

async fn update_command(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    manager(&caller)?;
    let id = parse_id(&id, "id")?;
    let mut c = command_body(&body)?;
    let mut st = app.write();
    let Some(current) = st.cs.commands.get(&id) else {
        return Err(text(
            StatusCode::NOT_FOUND,
            format!("No command with ID {id}."),
        ));
    };
    let own: Vec<u64> = wrappers(current)
        .filter_map(|w| w.get("id").and_then(Value::as_u64))
        .collect();
    let mut kept = Vec::new();
    if let Some(Value::Array(ws)) = c.get("xnat") {
        for w in ws.iter().filter_map(Value::as_object) {
            match w.get("id") {
                None | Some(Value::Null) => {}
                Some(v) => match v.as_u64() {
                    // A wrapper id of another command (or one listed twice) cannot be saved
                    // under this command: Hibernate refuses the detached entity.
                    Some(wid) if own.contains(&wid) && !kept.contains(&wid) => kept.push(wid),
                    _ => {
                        return Err(text(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            format!("There was a problem with the container:\nCommand wrapper {v} does not belong to command {id}."),
                        ))
                    }
                },
            }
        }
    }
    c = with_id_first(c, id);
    if let Some(Value::Array(ws)) = c.get_mut("xnat") {
        for w in ws.iter_mut() {
            if let Value::Object(m) = w {
                let wid = match m.get("id").and_then(Value::as_u64) {
                    Some(wid) => wid,
                    None => {
                        st.cs.next_wrapper += 1;
                        st.cs.next_wrapper
                    }
                };
                *m = with_id_first(std::mem::take(m), wid);
            }
        }
    }
    st.cs.commands.insert(id, c);
    st.cs.prune();
    Ok(text(StatusCode::OK, ""))
}

async fn delete_command(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Reply {
    manager(&caller)?;
    let id = parse_id(&id, "id")?;
    let mut st = app.write();
    st.cs.commands.remove(&id);
    st.cs.prune();
    Ok(text(StatusCode::NO_CONTENT, ""))
}

// ---- wrapper enablement and configuration ------------------------------------------------

fn wrapper_not_found(wid: &str) -> Response {
    text(
        StatusCode::NOT_FOUND,
        format!("No command wrapper with ID {wid}."),
    )
}

fn wrapper_id(app: &AppState, raw: &str) -> Result<u64, Response> {
    let wid = parse_id(raw, "wrapperId")?;
    if app.read().cs.wrapper(wid).is_none() {
        return Err(wrapper_not_found(raw));
    }
    Ok(wid)
}

fn named_wrapper(app: &AppState, cid: &str, name: &str) -> Result<u64, Response> {
    let cid = parse_id(cid, "commandId")?;
    app.read()
        .cs
        .wrapper_by_name(cid, name)
        .ok_or_else(|| wrapper_not_found(name))
}

fn set_site(app: &AppState, wid: u64, on: bool) {
    let mut st = app.write();
    if on {
        st.cs.site_enabled.insert(wid);
    } else {
        st.cs.site_enabled.remove(&wid);
    }
}

async fn site_enabled(State(app): State<AppState>, caller: Caller, Path(w): Path<String>) -> Reply {
    manager(&caller)?;
    let wid = wrapper_id(&app, &w)?;
    let on = app.read().cs.site_enabled.contains(&wid);
    Ok(json_response(StatusCode::OK, &Value::Bool(on)))
}

async fn site_enable(State(app): State<AppState>, caller: Caller, Path(w): Path<String>) -> Reply {
    manager(&caller)?;
    let wid = wrapper_id(&app, &w)?;
    set_site(&app, wid, true);
    Ok(text(StatusCode::OK, ""))
}

async fn site_disable(State(app): State<AppState>, caller: Caller, Path(w): Path<String>) -> Reply {
    manager(&caller)?;
    let wid = wrapper_id(&app, &w)?;
    set_site(&app, wid, false);
    Ok(text(StatusCode::OK, ""))
}

async fn named_site_enabled(
    State(app): State<AppState>,
    caller: Caller,
    Path((cid, name)): Path<(String, String)>,
) -> Reply {
    manager(&caller)?;
    let wid = named_wrapper(&app, &cid, &name)?;
    let on = app.read().cs.site_enabled.contains(&wid);
    Ok(json_response(StatusCode::OK, &Value::Bool(on)))
}

async fn named_enable(
    State(app): State<AppState>,
    caller: Caller,
    Path((cid, name)): Path<(String, String)>,
) -> Reply {
    manager(&caller)?;
    let wid = named_wrapper(&app, &cid, &name)?;
    set_site(&app, wid, true);
    Ok(text(StatusCode::OK, ""))
}

async fn named_disable(
    State(app): State<AppState>,
    caller: Caller,
    Path((cid, name)): Path<(String, String)>,
) -> Reply {
    manager(&caller)?;
    let wid = named_wrapper(&app, &cid, &name)?;
    set_site(&app, wid, false);
    Ok(text(StatusCode::OK, ""))
}

/// The project (404 when unknown) and a check that the caller may `need` on it (403).
fn project_for(
    app: &AppState,
    caller: &Caller,
    project: &str,
    need: fn(&Caller, &crate::state::Project) -> bool,
) -> Result<String, Response> {
    let st = app.read();
    let Some(p) = st.projects.get(project) else {
        return Err(text(
            StatusCode::NOT_FOUND,
            format!("No project with ID {project}."),
        ));
    };
    if !need(caller, p) {
        return Err(forbidden());
    }
    Ok(p.id.clone())
}

async fn project_enabled(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, w)): Path<(String, String)>,
) -> Reply {
    let project = project_for(&app, &caller, &project, crate::access::can_edit)?;
    let wid = wrapper_id(&app, &w)?;
    let st = app.read();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "enabled-for-site": st.cs.site_enabled.contains(&wid),
            "enabled-for-project": st.cs.project_enabled.contains(&(project.clone(), wid)),
            "project": project,
        }),
    ))
}

async fn set_project(app: AppState, caller: Caller, project: String, w: String, on: bool) -> Reply {
    let project = project_for(&app, &caller, &project, crate::access::can_delete)?;
    let wid = wrapper_id(&app, &w)?;
    let mut st = app.write();
    if on {
        st.cs.project_enabled.insert((project, wid));
    } else {
        st.cs.project_enabled.remove(&(project, wid));
    }
    Ok(text(StatusCode::OK, ""))
}

async fn project_enable(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, w)): Path<(String, String)>,
) -> Reply {
    set_project(app, caller, project, w, true).await
}

async fn project_disable(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, w)): Path<(String, String)>,
) -> Reply {
    set_project(app, caller, project, w, false).await
}

/// `CommandConfiguration`: the command's inputs and the wrapper's outputs with their defaults,
/// overlaid with the stored site and then project configuration.
fn configuration(app: &AppState, wid: u64, project: Option<&str>) -> Value {
    let st = app.read();
    let Some((cid, w)) = st.cs.wrapper(wid) else {
        return Value::Null;
    };
    let mut inputs = Map::new();
    let cmd_inputs = st
        .cs
        .commands
        .get(&cid)
        .and_then(|c| c.get("inputs"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let wrapper_inputs = ["external-inputs", "derived-inputs"].iter().flat_map(|k| {
        w.get(*k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    });
    for i in cmd_inputs
        .iter()
        .chain(wrapper_inputs.collect::<Vec<_>>().iter())
    {
        let Some(name) = i.get("name").and_then(Value::as_str) else {
            continue;
        };
        inputs.insert(
            name.to_string(),
            json!({
                "description": i.get("description").cloned().unwrap_or(Value::Null),
                "type": i.get("type").cloned().unwrap_or(Value::from("string")),
                "default-value": i.get("default-value").cloned().unwrap_or(Value::Null),
                "matcher": i.get("matcher").cloned().unwrap_or(Value::Null),
                "user-settable": i.get("user-settable").cloned().unwrap_or(Value::Bool(true)),
                "advanced": false,
                "required": i.get("required").cloned().unwrap_or(Value::Bool(false)),
            }),
        );
    }
    let mut outputs = Map::new();
    for o in w
        .get("output-handlers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = o.get("name").and_then(Value::as_str) {
            outputs.insert(
                name.to_string(),
                json!({"type": o.get("type").cloned().unwrap_or(Value::from("Resource")),
                       "label": o.get("label").cloned().unwrap_or(Value::Null)}),
            );
        }
    }
    let mut config = json!({"inputs": inputs, "outputs": outputs});
    let mut overlay = |stored: Option<&Value>| {
        for part in ["inputs", "outputs"] {
            let Some(Value::Object(src)) = stored.and_then(|s| s.get(part)) else {
                continue;
            };
            let Some(Value::Object(dst)) = config.get_mut(part) else {
                continue;
            };
            for (k, v) in src {
                match (dst.get_mut(k), v) {
                    (Some(Value::Object(d)), Value::Object(s)) => {
                        for (sk, sv) in s {
                            d.insert(sk.clone(), sv.clone());
                        }
                    }
                    _ => {
                        dst.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    };
    overlay(st.cs.site_config.get(&wid));
    if let Some(p) = project {
        overlay(st.cs.project_config.get(&(p.to_string(), wid)));
    }
    config
}

fn config_body(body: &[u8]) -> Result<Value, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(bad_request(
            "The body of the request must be a CommandConfiguration.",
        )),
    }
}

/// `enable` defaults to true; false leaves the enabled state as it was.
fn enable_param(q: &Params) -> bool {
    q.get("enable")
        .is_none_or(|v| !v.eq_ignore_ascii_case("false"))
}

async fn site_config(State(app): State<AppState>, caller: Caller, Path(w): Path<String>) -> Reply {
    manager(&caller)?;
    let wid = wrapper_id(&app, &w)?;
    Ok(json_response(
        StatusCode::OK,
        &configuration(&app, wid, None),
    ))
}

async fn set_site_config(
    State(app): State<AppState>,
    caller: Caller,
    Path(w): Path<String>,
    q: Params,
    body: Bytes,
) -> Reply {
    manager(&caller)?;
    let wid = wrapper_id(&app, &w)?;
    let config = config_body(&body)?;
    let mut st = app.write();
    st.cs.site_config.insert(wid, config);
    if enable_param(&q) {
        st.cs.site_enabled.insert(wid);
    }
    Ok(text(StatusCode::OK, ""))
}

async fn project_config(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, w)): Path<(String, String)>,
) -> Reply {
    let project = project_for(&app, &caller, &project, crate::access::can_edit)?;
    let wid = wrapper_id(&app, &w)?;
    Ok(json_response(
        StatusCode::OK,
        &configuration(&app, wid, Some(&project)),
    ))
}

async fn set_project_config(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, w)): Path<(String, String)>,
    q: Params,
    body: Bytes,
) -> Reply {
    let project = project_for(&app, &caller, &project, crate::access::can_delete)?;
    let wid = wrapper_id(&app, &w)?;
    let config = config_body(&body)?;
    let mut st = app.write();
    st.cs.project_config.insert((project.clone(), wid), config);
    if enable_param(&q) {
        st.cs.project_enabled.insert((project, wid));
    }
    Ok(text(StatusCode::OK, ""))
}

// ---- launch and containers ---------------------------------------------------------------

async fn launch(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, w)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let project = {
        let st = app.read();
        match st.projects.get(&project) {
            None => {
                return Err(text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "There was an error in the request : null",
                ))
            }
            Some(p) if !crate::access::can_read(&caller, p) => return Err(forbidden()),
            Some(p) => p.id.clone(),
        }
    };
    let wid = parse_id(&w, "wrapperId")?;
    let params: Map<String, Value> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| {
                let s = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, Value::String(s))
            })
            .collect(),
        _ => {
            return Err(bad_request(
                "The body of the request must be a JSON object.",
            ))
        }
    };
    let mut st = app.write();
    let found = st.cs.wrapper(wid).map(|(cid, _)| cid);
    let command_id = found.unwrap_or(0);
    // Resolution and the launch run on a queue after this answer: a wrapper that is unknown or
    // not enabled for the site and the project never yields a container.
    let runnable = found.is_some()
        && st.cs.site_enabled.contains(&wid)
        && st.cs.project_enabled.contains(&(project.clone(), wid));
    if runnable {
        let image = st
            .cs
            .commands
            .get(&command_id)
            .and_then(|c| c.get("image"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        st.cs.next_container += 1;
        let id = st.cs.next_container;
        let plan = st.cs.plan;
        st.cs.containers.insert(
            id,
            SimContainer {
                id,
                command_id,
                wrapper_id: wid,
                project: project.clone(),
                user: caller.name().to_string(),
                image,
                params: params.clone(),
                // The workflow is created while the queued launch resolves, after the answer
                // said `To be assigned`: the container carries the real id.
                workflow_id: (1000 + id).to_string(),
                launched: Instant::now(),
                launched_wall: chrono::Utc::now(),
                plan,
                killed: None,
            },
        );
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "status": "success",
            "params": params,
            "workflow-id": "To be assigned",
            "command-id": found.map(Value::from).unwrap_or(Value::Null),
            "wrapper-id": wid,
        }),
    ))
}

/// Owner, admin, or owner of the container's project (`ContainerRestApi.isUserOwnerOrAdmin`).
fn may_see(app: &AppState, caller: &Caller, c: &SimContainer) -> bool {
    if caller.admin || caller.username.as_deref() == Some(c.user.as_str()) {
        return true;
    }
    let st = app.read();
    st.projects
        .get(&c.project)
        .is_some_and(|p| crate::access::role(caller, p) == Some(crate::state::Role::Owner))
}

fn container_json(c: &SimContainer, now: Instant) -> Value {
    c.to_json(now, c.id * 100)
}

fn list_where(app: &AppState, caller: &Caller, project: Option<&str>) -> Response {
    let now = Instant::now();
    let all: Vec<SimContainer> = app.read().cs.containers.values().cloned().collect();
    let out: Vec<Value> = all
        .iter()
        .filter(|c| project.is_none_or(|p| c.project == p))
        .filter(|c| may_see(app, caller, c))
        .map(|c| container_json(c, now))
        .collect();
    json_response(StatusCode::OK, &Value::Array(out))
}

async fn list_containers(State(app): State<AppState>, caller: Caller) -> Response {
    list_where(&app, &caller, None)
}

async fn list_project_containers(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> Response {
    list_where(&app, &caller, Some(&project))
}

fn container(app: &AppState, raw: &str) -> Result<SimContainer, Response> {
    let st = app.read();
    raw.parse::<u64>()
        .ok()
        .and_then(|id| st.cs.containers.get(&id))
        .or_else(|| {
            st.cs
                .containers
                .values()
                .find(|c| container_json(c, c.launched)["container-id"] == raw)
        })
        .cloned()
        .ok_or_else(|| text(StatusCode::NOT_FOUND, format!("No container with ID {raw}")))
}

async fn get_container(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Reply {
    let c = container(&app, &id)?;
    let mut v = container_json(&c, Instant::now());
    if !may_see(&app, &caller, &c) {
        // `scrubProtectedData`: ids, status and image only.
        for k in ["mounts", "inputs", "outputs", "history"] {
            v[k] = json!([]);
        }
        v["env"] = json!({});
        v["command-line"] = json!("[REDACTED]");
    }
    Ok(json_response(StatusCode::OK, &v))
}

async fn kill(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> Reply {
    let c = container(&app, &id)?;
    if !may_see(&app, &caller, &c) {
        return Err(forbidden());
    }
    let now = Instant::now();
    if c.is_finished(now) {
        return Err(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "The Docker server returned an error:\nContainer {} is not running",
                container_json(&c, now)["container-id"]
                    .as_str()
                    .unwrap_or("")
            ),
        ));
    }
    let mut st = app.write();
    if let Some(c) = st.cs.containers.get_mut(&c.id) {
        c.killed = Some(now.duration_since(c.launched));
    }
    Ok(text(StatusCode::OK, c.id.to_string()))
}

async fn logs(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, file)): Path<(String, String)>,
) -> Reply {
    let Ok(c) = container(&app, &id) else {
        return Err(text(StatusCode::INTERNAL_SERVER_ERROR, ""));
    };
    if !may_see(&app, &caller, &c) {
        return Err(forbidden());
    }
    let stderr = !"stdout".contains(file.as_str());
    Ok(text(StatusCode::OK, c.log(Instant::now(), stderr)))
}

/// `POST /__sim/containers/plan?step_ms=N&lines=N&outcome=complete|failed|hang`: how containers
/// launched from now on behave.
async fn set_plan(State(app): State<AppState>, q: Params) -> Response {
    let mut plan = RunPlan::default();
    if let Some(ms) = q.get("step_ms").and_then(|v| v.parse().ok()) {
        plan.step = Duration::from_millis(ms);
    }
    if let Some(n) = q.get("lines").and_then(|v| v.parse().ok()) {
        plan.lines = n;
    }
    plan.outcome = match q.get("outcome") {
        Some("failed") => Outcome::Failed,
        Some("hang") => Outcome::Hang,
        _ => Outcome::Complete,
    };
    app.write().cs.plan = plan;
    text(StatusCode::OK, "")
}
