//! The Event Service, `/xapi/events/...` (fidelity spec §19; xnat-web
//! `eventservice/rest/EventServiceRestApi.java`, `model/Subscription.java`): the catalogs of event
//! types and actions, and subscriptions (list, one, create, activate, deactivate, delete).
//!
//! Access as the controller declares it: `events/events` needs a login, everything else an admin
//! (403 otherwise). An unknown id is 404 ("Could not find entity with ID N"). A creator whose
//! `action-key` or `event-filter.event-type` the catalog does not know fails validation with 424
//! and XNAT's `Subscription format failed to validate.` text; a body without `action-key` never
//! reaches the validator (Jackson refuses the null) and answers 500. Success of a create is 201
//! with the text body `<name>:<id>`.
//!
//! Not simulated: the project-scoped variants (`/xapi/projects/{P}/events/...`), deliveries
//! (`events/delivered`) and the site switch `events/prefs` (the service here is always on).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::envelope::{json as json_response, text, xapi_error};
use crate::params::Caller;
use crate::AppState;

const SESSION_EVENT: &str = "org.nrg.xnat.eventservice.events.SessionEvent";
const SCAN_EVENT: &str = "org.nrg.xnat.eventservice.events.ScanEvent";
const PROJECT_EVENT: &str = "org.nrg.xnat.eventservice.events.ProjectEvent";
const LOGGING_ACTION: &str = "org.nrg.xnat.eventservice.actions.EventServiceLoggingAction:org.nrg.xnat.eventservice.actions.EventServiceLoggingAction";
const EMAIL_ACTION: &str = "org.nrg.xnat.eventservice.actions.EventServiceEmailAction:org.nrg.xnat.eventservice.actions.EventServiceEmailAction";

/// `GET /xapi/events/events`: the `SimpleEvent` list of a plain XNAT (kebab-case keys).
pub fn event_types() -> Value {
    json!([
        {"type": PROJECT_EVENT, "display-name": "Project", "description": "Project created or deleted.",
         "statuses": ["CREATED", "DELETED"], "event-scope": ["SITE"], "is-xsi-type": true,
         "payload": null, "event-properties": null},
        {"type": SCAN_EVENT, "display-name": "Scan", "description": "Scan created.",
         "statuses": ["CREATED"], "event-scope": ["PROJECT", "SITE"], "is-xsi-type": true,
         "payload": null, "event-properties": null},
        {"type": SESSION_EVENT, "display-name": "Session", "description": "Session created or deleted.",
         "statuses": ["CREATED", "DELETED"], "event-scope": ["PROJECT", "SITE"], "is-xsi-type": true,
         "payload": null, "event-properties": null}
    ])
}

/// `GET /xapi/events/actions`: the `Action` list (the two providers XNAT ships).
pub fn actions() -> Value {
    json!([
        {"id": "org.nrg.xnat.eventservice.actions.EventServiceLoggingAction",
         "action-key": LOGGING_ACTION, "display-name": "Logging Action",
         "description": "Simple action for EventService Event that logs event detection.",
         "provider": "org.nrg.xnat.eventservice.actions.EventServiceLoggingAction",
         "attributes": {"param1": {"description": "Logged with the event.", "type": "string",
                                    "default-value": "", "required": false}}},
        {"id": "org.nrg.xnat.eventservice.actions.EventServiceEmailAction",
         "action-key": EMAIL_ACTION, "display-name": "Email Action",
         "description": "Send an email when the event fires.",
         "provider": "org.nrg.xnat.eventservice.actions.EventServiceEmailAction",
         "attributes": {
            "to": {"description": "Recipients", "type": "string", "default-value": "", "required": true},
            "subject": {"description": "Subject", "type": "string", "default-value": "", "required": true},
            "body": {"description": "Body", "type": "string", "default-value": "", "required": true}}}
    ])
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/xapi/events/events", get(list_event_types))
        .route("/xapi/events/actions", get(list_actions))
        .route("/xapi/events/subscriptions", get(list))
        .route("/xapi/events/subscription", post(create))
        .route("/xapi/events/subscription/{id}", get(one).delete(remove))
        .route("/xapi/events/subscription/{id}/activate", post(activate))
        .route(
            "/xapi/events/subscription/{id}/deactivate",
            post(deactivate),
        )
}

fn login_required(caller: &Caller) -> Option<Response> {
    caller
        .username
        .is_none()
        .then(|| xapi_error(StatusCode::UNAUTHORIZED, ""))
}

fn admin_required(caller: &Caller) -> Option<Response> {
    login_required(caller)
        .or_else(|| (!caller.admin).then(|| xapi_error(StatusCode::FORBIDDEN, "")))
}

/// `@PathVariable long id`: anything else is a 400 before the controller runs.
fn parse_id(id: &str) -> Result<u64, Response> {
    id.parse()
        .map_err(|_| xapi_error(StatusCode::BAD_REQUEST, ""))
}

fn missing(id: u64) -> Response {
    xapi_error(
        StatusCode::NOT_FOUND,
        &format!("Could not find entity with ID {id}"),
    )
}

async fn list_event_types(caller: Caller) -> Response {
    if let Some(r) = login_required(&caller) {
        return r;
    }
    json_response(StatusCode::OK, &event_types())
}

async fn list_actions(caller: Caller) -> Response {
    if let Some(r) = admin_required(&caller) {
        return r;
    }
    json_response(StatusCode::OK, &actions())
}

async fn list(State(app): State<AppState>, caller: Caller) -> Response {
    if let Some(r) = admin_required(&caller) {
        return r;
    }
    let all: Vec<Value> = app.read().event_subscriptions.values().cloned().collect();
    json_response(StatusCode::OK, &Value::Array(all))
}

async fn one(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> Response {
    if let Some(r) = admin_required(&caller) {
        return r;
    }
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match app.read().event_subscriptions.get(&id) {
        Some(s) => json_response(StatusCode::OK, s),
        None => missing(id),
    }
}

fn invalid(message: &str) -> Response {
    text(
        StatusCode::FAILED_DEPENDENCY,
        format!("Subscription format failed to validate.\n{message}"),
    )
}

fn known(catalog: &Value, key: &str, wanted: &str) -> bool {
    catalog.as_array().is_some_and(|a| {
        a.iter()
            .any(|e| e.get(key).and_then(Value::as_str) == Some(wanted))
    })
}

/// Turn a `SubscriptionCreator` into the stored `Subscription` (or the error XNAT answers).
fn subscription_from(
    creator: &Map<String, Value>,
    id: u64,
    owner: &str,
) -> Result<Value, Response> {
    let Some(action) = creator.get("action-key").and_then(Value::as_str) else {
        // Jackson's AutoValue builder refuses a null actionKey before validation runs.
        return Err(xapi_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "JSON parse error: Null actionKey",
        ));
    };
    let filter = match creator.get("event-filter") {
        Some(Value::Object(f)) => f.clone(),
        _ => {
            return Err(xapi_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "JSON parse error: Null eventFilter",
            ))
        }
    };
    let event_type = filter
        .get("event-type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !known(&event_types(), "type", event_type) {
        return Err(invalid(&format!("Could not find event type: {event_type}")));
    }
    if !known(&actions(), "action-key", action) {
        return Err(invalid(&format!(
            "Could not find Action Provider for ActionKey: {action}"
        )));
    }
    // UNCONFIRMED: the name XNAT generates for a creator without one; ours is stable and short.
    let name = creator
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("Subscription {id}"));
    let project_ids = filter
        .get("project-ids")
        .cloned()
        .unwrap_or_else(|| json!([]));
    let stored_filter = json!({
        "id": id,
        "name": format!("{name} filter"),
        "event-type": event_type,
        "project-ids": project_ids,
        "status": filter.get("status").cloned().unwrap_or(Value::Null),
        "json-path-filter": filter.get("json-path-filter").cloned().unwrap_or(Value::Null),
        "reactorCriteriaHash": 0,
    });
    Ok(json!({
        "id": id,
        "name": name,
        "active": creator.get("active").and_then(Value::as_bool).unwrap_or(true),
        "attributes": creator.get("attributes").cloned().unwrap_or_else(|| json!({})),
        "action-key": action,
        "event-filter": stored_filter,
        "act-as-event-user": creator.get("act-as-event-user").and_then(Value::as_bool).unwrap_or(false),
        "subscription-owner": owner,
        "valid": true,
        "created": crate::state::now_millis(),
    }))
}

async fn create(State(app): State<AppState>, caller: Caller, body: Bytes) -> Response {
    if let Some(r) = admin_required(&caller) {
        return r;
    }
    let creator = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        _ => return xapi_error(StatusCode::BAD_REQUEST, "JSON parse error"),
    };
    let mut st = app.write();
    let id = st.counters.subscription + 1;
    let sub = match subscription_from(&creator, id, caller.name()) {
        Ok(s) => s,
        Err(r) => return r,
    };
    st.counters.subscription = id;
    let name = sub["name"].as_str().unwrap_or_default().to_string();
    st.event_subscriptions.insert(id, sub);
    text(StatusCode::CREATED, format!("{name}:{id}"))
}

fn set_active(app: &AppState, caller: &Caller, id: &str, on: bool) -> Response {
    if let Some(r) = admin_required(caller) {
        return r;
    }
    let id = match parse_id(id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match app.write().event_subscriptions.get_mut(&id) {
        Some(s) => {
            s["active"] = Value::Bool(on);
            text(StatusCode::OK, "")
        }
        None => missing(id),
    }
}

async fn activate(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> Response {
    set_active(&app, &caller, &id, true)
}

async fn deactivate(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    set_active(&app, &caller, &id, false)
}

/// `DELETE`: deactivates and deletes; 204.
async fn remove(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> Response {
    if let Some(r) = admin_required(&caller) {
        return r;
    }
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match app.write().event_subscriptions.remove(&id) {
        Some(_) => text(StatusCode::NO_CONTENT, ""),
        None => missing(id),
    }
}
