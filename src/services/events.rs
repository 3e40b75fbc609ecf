//! XNAT's Event Service (`/xapi/events/...`, xnat-web `EventServiceRestApi`): the catalogs of
//! event types and actions, and the subscriptions that tie one to the other.
//!
//! The listing is the plural `/xapi/events/subscriptions`; every single-subscription call is on
//! the singular `/xapi/events/subscription[/{id}]` (there is no plural-with-id route). A create
//! answers 201 with the text `<name>:<id>`; the name may itself contain colons, so the id is what
//! follows the last one.

use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::XnatClient;
use crate::core::output::{Item, Row};
use crate::core::{Error, Result};

/// One subscription as the server sends it (`id`, `name`, `active`, `action-key`, `attributes`,
/// `event-filter`, `act-as-event-user`, `subscription-owner`, `valid`, `created`, ...); in
/// listings the reference adds `event_type` (the filter's event type) to each row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Subscription(pub Map<String, Value>);

impl Row for Subscription {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "ID"),
        ("name", "Name"),
        ("active", "Active"),
        ("event_type", "Event Type"),
        ("action-key", "Action"),
    ];
    const ID: &'static str = "id";
}

impl Item for Subscription {
    const ID: &'static str = "id";
    const LABELS: &'static [(&'static str, &'static str)] = &[("id", "ID")];
}

/// One Event Service action (`action-key`, `display-name`, `description`, `attributes`, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Action(pub Map<String, Value>);

impl Row for Action {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("action-key", "Action Key"),
        ("display-name", "Name"),
        ("description", "Description"),
    ];
    const ID: &'static str = "action-key";
}

/// One event type (`type`, `display-name`, `description`, `statuses`, `event-scope`, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct EventType(pub Map<String, Value>);

impl Row for EventType {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("type", "Type"),
        ("display-name", "Name"),
        ("statuses", "Statuses"),
        ("event-scope", "Scope"),
    ];
    const ID: &'static str = "type";
}

/// The new subscription's id (`{"id": N}` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Created {
    /// The id the server gave it.
    pub id: u64,
}

impl Item for Created {
    const ID: &'static str = "id";
    const LABELS: &'static [(&'static str, &'static str)] = &[("id", "ID")];
}

/// An array of objects, or the error naming the call that answered something else.
fn objects(v: Value, path: &str) -> Result<Vec<Map<String, Value>>> {
    let unexpected = |got: &str| {
        Error::Operation(format!(
            "unexpected response from GET {path}: expected a JSON array of objects, got {got}"
        ))
    };
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Value::Object(m) => Ok(m),
                _ => Err(unexpected("an array with a non-object entry")),
            })
            .collect(),
        Value::Null => Err(unexpected("null")),
        Value::Object(_) => Err(unexpected("an object")),
        _ => Err(unexpected("a scalar")),
    }
}

/// `GET /xapi/events/subscriptions?format=json`, each row with `event_type` added.
pub async fn list(client: &XnatClient) -> Result<Vec<Subscription>> {
    let path = "/xapi/events/subscriptions";
    let rows = objects(client.get_json(path, &[]).await?, path)?;
    Ok(rows
        .into_iter()
        .map(|mut m| {
            let event_type = m
                .get("event-filter")
                .and_then(|f| f.get("event-type"))
                .cloned()
                .unwrap_or_else(|| Value::from(""));
            m.insert("event_type".into(), event_type);
            Subscription(m)
        })
        .collect())
}

fn not_found(id: u64) -> impl Fn(Error) -> Error {
    move |e| match e {
        Error::NotFound { .. } => Error::not_found("event subscription", id.to_string()),
        other => other,
    }
}

/// `GET /xapi/events/subscription/{id}?format=json`; 404 → `event subscription not found` (5).
pub async fn show(client: &XnatClient, id: u64) -> Result<Subscription> {
    let path = format!("/xapi/events/subscription/{id}");
    match client.get_json(&path, &[]).await.map_err(not_found(id))? {
        Value::Object(m) => Ok(Subscription(m)),
        _ => Err(Error::Operation(format!(
            "unexpected response from GET {path}: expected a JSON object"
        ))),
    }
}

/// The id in a create answer `<name>:<id>` (the name may contain colons).
pub fn created_id(body: &str) -> Result<u64> {
    let body = body.trim();
    body.rsplit_once(':')
        .and_then(|(_, id)| id.parse().ok())
        .ok_or_else(|| {
            Error::Operation(format!(
                "unexpected response from POST /xapi/events/subscription: expected \"<name>:<id>\", got {body:?}"
            ))
        })
}

/// `POST /xapi/events/subscription` with the creator JSON; the new id.
pub async fn create(client: &XnatClient, creator: &Map<String, Value>) -> Result<Created> {
    let bytes = client
        .request(Method::POST, "/xapi/events/subscription")
        .json(&Value::Object(creator.clone()))
        .read()
        .await
        .map_err(|e| match e {
            // XNAT's 424 says why on the lines after its first ("... failed to validate.").
            Error::Http {
                status: 424, body, ..
            } => Error::Operation(format!(
                "the server refused the subscription: {}",
                body.split_whitespace().collect::<Vec<_>>().join(" ")
            )),
            other => other,
        })?;
    let id = created_id(&String::from_utf8_lossy(&bytes))?;
    Ok(Created { id })
}

/// `POST /xapi/events/subscription/{id}/activate` or `/deactivate` (empty body).
pub async fn set_active(client: &XnatClient, id: u64, on: bool) -> Result<()> {
    let verb = if on { "activate" } else { "deactivate" };
    client
        .request(
            Method::POST,
            &format!("/xapi/events/subscription/{id}/{verb}"),
        )
        .send()
        .await
        .map_err(not_found(id))?;
    Ok(())
}

/// `DELETE /xapi/events/subscription/{id}` (404 → not found).
pub async fn delete(client: &XnatClient, id: u64) -> Result<()> {
    client
        .request(Method::DELETE, &format!("/xapi/events/subscription/{id}"))
        .send()
        .await
        .map_err(not_found(id))?;
    Ok(())
}

/// `GET /xapi/events/actions?format=json`.
pub async fn actions(client: &XnatClient) -> Result<Vec<Action>> {
    let path = "/xapi/events/actions";
    Ok(objects(client.get_json(path, &[]).await?, path)?
        .into_iter()
        .map(Action)
        .collect())
}

/// `GET /xapi/events/events?format=json`.
pub async fn event_types(client: &XnatClient) -> Result<Vec<EventType>> {
    let path = "/xapi/events/events";
    Ok(objects(client.get_json(path, &[]).await?, path)?
        .into_iter()
        .map(EventType)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_follows_the_last_colon() {
        assert_eq!(created_id("weird:name:test:3\n").unwrap(), 3);
        assert_eq!(created_id("plain:12").unwrap(), 12);
        for bad in ["12", "name:", "name:x1", ""] {
            assert!(created_id(bad).is_err(), "{bad}");
        }
    }
}
