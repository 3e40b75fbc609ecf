//! The Container Service's containers (`/xapi/containers`, `/xapi/projects/{p}/containers`):
//! list, show, logs (once or followed), launch (optionally waiting for the container), kill.
//!
//! Launching goes through the plugin's project route `POST /xapi/projects/{p}/wrappers/{id}/launch`
//! with a JSON object of parameters. The plugin only *queues* the launch: its answer carries no
//! container id and its `workflow-id` is `To be assigned`, and a wrapper that is not enabled for
//! the site and the project is accepted and then never started (see `LaunchRestApi` and
//! `ContainerServiceImpl.launchContainer`). So a launch checks the enabled state first, and
//! `--wait` finds the container as the one for this wrapper that was not there before.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::{seg, XnatClient};
use crate::core::output::{Item, Row};
use crate::core::{Error, Result};
use crate::services::commands::Wrapper;
use crate::services::poll::{Poll, PollStatus, Step};

/// Statuses after which a container does not change any more.
pub const TERMINAL: &[&str] = &["Complete", "Failed", "Killed", "Died"];

/// Whether `status` is final.
pub fn is_terminal(status: &str) -> bool {
    TERMINAL.contains(&status)
}

/// One container as the server sends it, plus `started-display` (as the reference adds it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Container(pub Map<String, Value>);

impl Container {
    fn from_server(mut m: Map<String, Value>) -> Self {
        let started = started_display(&m);
        m.insert("started-display".into(), Value::from(started));
        Container(m)
    }

    /// The database id, as text.
    pub fn id(&self) -> String {
        match self.0.get("id") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        }
    }

    /// The current status (`Created`, `Running`, `Complete`, ...).
    pub fn status(&self) -> &str {
        self.0.get("status").and_then(Value::as_str).unwrap_or("")
    }

    fn wrapper_id(&self) -> Option<u64> {
        self.0.get("wrapper-id").and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
    }

    /// The exit code of the last history entry that has one.
    pub fn exit_code(&self) -> Option<String> {
        self.0
            .get("history")
            .and_then(Value::as_array)?
            .iter()
            .rev()
            .find_map(|h| match h.get("exitCode") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
    }
}

impl Row for Container {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "ID"),
        ("status", "Status"),
        ("command-id", "Command ID"),
        ("project", "Project"),
        ("user-id", "User"),
        ("started-display", "Started"),
    ];
    const ID: &'static str = "id";
}

impl Item for Container {
    const ID: &'static str = "id";
}

/// When the container started: the earliest `history[].time-recorded` (compared as instants;
/// unparseable ones count as latest), else `status-time`, else `-`. The server's own text is
/// shown.
pub fn started_display(m: &Map<String, Value>) -> String {
    let stamps: Vec<String> = m
        .get("history")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|h| match h.get("time-recorded") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    if let Some(first) = stamps.iter().min_by_key(|s| match parse_instant(s) {
        Some(t) => (false, t),
        None => (true, i64::MAX),
    }) {
        return first.clone();
    }
    match m.get("status-time") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "-".into(),
    }
}

/// Milliseconds since the epoch of a plugin timestamp (`2026-11-29T23:59:01.123-0500`, RFC 3339,
/// or epoch milliseconds).
fn parse_instant(s: &str) -> Option<i64> {
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|t| t.timestamp_millis())
}

fn containers_path(project: Option<&str>) -> Result<String> {
    Ok(match project {
        Some(p) => format!("/xapi/projects/{}/containers", seg(p)?),
        None => "/xapi/containers".into(),
    })
}

/// The containers of `project` (or of the site), only those with `status` when given.
pub async fn list(
    client: &XnatClient,
    project: Option<&str>,
    status: Option<&str>,
) -> Result<Vec<Container>> {
    let path = containers_path(project)?;
    let rows = match client.get_json(&path, &[]).await? {
        Value::Array(items) => items,
        other => {
            return Err(Error::Operation(format!(
                "Unexpected response from GET {path}: expected a JSON array, got {}",
                crate::core::error::snippet(&other.to_string(), 40)
            )))
        }
    };
    let rows: Vec<Map<String, Value>> = rows
        .into_iter()
        .filter_map(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .collect();
    if let Some(s) = status {
        if !rows.is_empty() && !rows.iter().any(|r| r.contains_key("status")) {
            return Err(Error::Operation(format!(
                "cannot filter by --status {s}: none of the {} containers from GET {path} has a status",
                rows.len()
            )));
        }
    }
    Ok(rows
        .into_iter()
        .filter(|r| status.is_none_or(|s| r.get("status").and_then(Value::as_str) == Some(s)))
        .map(Container::from_server)
        .collect())
}

/// `GET /xapi/containers/{id}`; 404 → `container not found: ID` (exit 5).
pub async fn show(client: &XnatClient, id: &str) -> Result<Container> {
    let path = format!("/xapi/containers/{}", seg(id)?);
    match client.get_json(&path, &[]).await {
        Ok(Value::Object(m)) => Ok(Container::from_server(m)),
        Ok(other) => Err(Error::Operation(format!(
            "Unexpected response from GET {path}: expected a JSON object, got {}",
            crate::core::error::snippet(&other.to_string(), 40)
        ))),
        Err(Error::NotFound { .. }) => Err(Error::not_found("container", id)),
        Err(e) => Err(e),
    }
}

/// The whole log so far. The plugin answers 500 for an unknown container on this route, so the
/// caller checks the container exists first ([`show`]).
pub async fn log(client: &XnatClient, id: &str, stderr: bool) -> Result<bytes::Bytes> {
    let file = if stderr { "stderr" } else { "stdout" };
    client
        .request(
            reqwest::Method::GET,
            &format!("/xapi/containers/{}/logs/{file}", seg(id)?),
        )
        .read()
        .await
}

/// Follow a container's log until it reaches a final status: each look reads the status, then
/// the log, and hands `out` only the bytes beyond those already written (the status is read
/// first, so the lines written before the end are never lost). Returns the final container.
pub async fn follow(
    client: &XnatClient,
    id: &str,
    stderr: bool,
    poll: &Poll,
    status: &dyn PollStatus,
    out: &mut (dyn FnMut(&[u8]) -> Result<()> + Send),
) -> Result<Container> {
    let what = format!("container {id}");
    let written = std::sync::Mutex::new(0usize);
    let out = std::sync::Mutex::new(out);
    let (written, out) = (&written, &out);
    poll.until(&what, status, move || async move {
        let c = show(client, id).await?;
        let body = log(client, id, stderr).await?;
        let mut done = written.lock().unwrap_or_else(|p| p.into_inner());
        if body.len() > *done {
            let mut sink = out.lock().unwrap_or_else(|p| p.into_inner());
            (*sink)(&body[*done..])?;
            *done = body.len();
        }
        if is_terminal(c.status()) {
            Ok(Step::Done(c))
        } else {
            Ok(Step::Pending(format!("{} · {} bytes", c.status(), *done)))
        }
    })
    .await
}

/// `--param KEY=VALUE`: split at the first `=`; the key must not be empty.
pub fn parse_param(text: &str) -> std::result::Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        Some(_) => Err(format!("'{text}' has an empty key (expected KEY=VALUE)")),
        None => Err(format!("'{text}' is not KEY=VALUE")),
    }
}

/// The launch parameters: the `--param` pairs (a key given twice is a usage error), and `-E`
/// under the name of the wrapper's only `Session` external input.
pub fn launch_params(
    wrapper: &Wrapper,
    params: &[(String, String)],
    experiment: Option<&str>,
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for (k, v) in params {
        if out.insert(k.clone(), Value::from(v.clone())).is_some() {
            return Err(Error::usage(format!("--param {k} is given more than once")));
        }
    }
    let Some(exp) = experiment else {
        return Ok(out);
    };
    let sessions: Vec<&str> = wrapper
        .0
        .get("external-inputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|i| i.get("type").and_then(Value::as_str) == Some("Session"))
        .filter_map(|i| i.get("name").and_then(Value::as_str))
        .collect();
    let key = match sessions.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::InvalidInput(format!(
                "wrapper {} has no external input of type Session, so -E cannot be mapped; pass --param NAME=VALUE",
                wrapper.id()
            )))
        }
        many => {
            return Err(Error::InvalidInput(format!(
                "wrapper {} has several Session inputs ({}); pass --param NAME=VALUE instead of -E",
                wrapper.id(),
                many.join(", ")
            )))
        }
    };
    if out.contains_key(key) {
        return Err(Error::InvalidInput(format!(
            "-E conflicts with --param {key}=...: the wrapper's session input is named {key}; give one of them"
        )));
    }
    out.insert(key.to_string(), Value::from(exp));
    Ok(out)
}

/// Refuse a launch the server would accept and never start: the wrapper must be enabled for the
/// site and for the project. A caller who may not read the project's setting (403) is let
/// through (the server decides).
pub async fn check_enabled(client: &XnatClient, project: &str, wrapper: &Wrapper) -> Result<()> {
    let path = format!(
        "/xapi/projects/{}/wrappers/{}/enabled",
        seg(project)?,
        wrapper.id()
    );
    let report = match client.get_json(&path, &[]).await {
        Ok(v) => v,
        Err(Error::PermissionDenied(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    let on = |k: &str| report.get(k).and_then(Value::as_bool).unwrap_or(false);
    let (site, proj) = (on("enabled-for-site"), on("enabled-for-project"));
    if site && proj {
        return Ok(());
    }
    let (wid, cid) = (wrapper.id(), wrapper.command_id());
    let mut fixes = Vec::new();
    if !site {
        fixes.push(format!("xnatctl wrapper enable {cid} {wid}"));
    }
    if !proj {
        fixes.push(format!("xnatctl wrapper enable {cid} {wid} -P {project}"));
    }
    let scope = match (site, proj) {
        (false, false) => "site-wide or for project",
        (false, true) => "site-wide (it is for project",
        _ => "for project",
    };
    let close = if site || !proj { "" } else { ")" };
    Err(Error::InvalidInput(format!(
        "wrapper {wid} ({}) is not enabled {scope} {project}{close}: XNAT would queue the launch and never start it; enable it with: {}",
        wrapper.name(),
        fixes.join(" && ")
    )))
}

/// The plugin's launch report (`status`, `params`, `workflow-id`, `command-id`, `wrapper-id`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct LaunchReport(pub Map<String, Value>);

impl LaunchReport {
    /// The workflow id (`To be assigned` while the launch is queued).
    pub fn workflow_id(&self) -> String {
        match self.0.get("workflow-id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    }
}

/// `POST /xapi/projects/{p}/wrappers/{id}/launch` with the parameters as a JSON object. A
/// `failure` report (the plugin answers it with a 500) is `launch failed: <message>`.
pub async fn launch(
    client: &XnatClient,
    project: &str,
    wrapper_id: u64,
    params: &Map<String, Value>,
) -> Result<LaunchReport> {
    let path = format!(
        "/xapi/projects/{}/wrappers/{wrapper_id}/launch",
        seg(project)?
    );
    let body = client
        .request(reqwest::Method::POST, &path)
        .json(&Value::Object(params.clone()))
        .read()
        .await
        .map_err(|e| match e {
            Error::Http {
                body, status: 500, ..
            } => match serde_json::from_str::<Value>(&body) {
                Ok(v) if v.get("status").and_then(Value::as_str) == Some("failure") => {
                    Error::Operation(format!(
                        "launch failed: {}",
                        v.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("(no message)")
                    ))
                }
                _ => Error::Operation(format!("launch failed: HTTP 500: {body}")),
            },
            other => other,
        })?;
    let report = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => LaunchReport(m),
        _ => {
            return Err(Error::Operation(format!(
                "Unexpected response from POST {path}: expected a JSON object"
            )))
        }
    };
    if report
        .0
        .get("status")
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("failure"))
    {
        return Err(Error::Operation(format!(
            "launch failed: {}",
            report
                .0
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("(no message)")
        )));
    }
    Ok(report)
}

/// The ids of the project's containers now (taken before a launch that will be waited on).
pub async fn snapshot(client: &XnatClient, project: &str) -> Result<BTreeSet<String>> {
    Ok(list(client, Some(project), None)
        .await?
        .iter()
        .map(Container::id)
        .collect())
}

/// Wait for the container of a launch to reach a final status: first find it (its
/// `workflow-id` when the report has a real one, else the new container of this wrapper that
/// was not in `before`), then follow its status. Returns it, whatever the final status.
pub async fn wait_for_launch(
    client: &XnatClient,
    project: &str,
    wrapper_id: u64,
    report: &LaunchReport,
    before: &BTreeSet<String>,
    poll: &Poll,
    status: &dyn PollStatus,
) -> Result<Container> {
    let workflow = report.workflow_id();
    let by_workflow = !workflow.is_empty() && workflow != "To be assigned";
    let found: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let (found, workflow) = (&found, workflow.as_str());
    let what = format!("the launch of wrapper {wrapper_id} in project {project}");
    poll.until(&what, status, move || async move {
        let known = found.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let c = match known {
            Some(id) => show(client, &id).await?,
            None => {
                let mine = list(client, Some(project), None)
                    .await?
                    .into_iter()
                    .filter(|c| {
                        if by_workflow {
                            c.0.get("workflow-id").and_then(Value::as_str) == Some(workflow)
                        } else {
                            c.wrapper_id() == Some(wrapper_id) && !before.contains(&c.id())
                        }
                    })
                    .min_by_key(|c| c.id().parse::<u64>().unwrap_or(u64::MAX));
                match mine {
                    Some(c) => {
                        *found.lock().unwrap_or_else(|p| p.into_inner()) = Some(c.id());
                        c
                    }
                    None => return Ok(Step::Pending("no container yet".into())),
                }
            }
        };
        if is_terminal(c.status()) {
            Ok(Step::Done(c))
        } else {
            Ok(Step::Pending(format!(
                "container {}: {}",
                c.id(),
                c.status()
            )))
        }
    })
    .await
}

/// `POST /xapi/containers/{id}/kill`; 404 → `container not found` (exit 5).
pub async fn kill(client: &XnatClient, id: &str) -> Result<()> {
    client
        .post(&format!("/xapi/containers/{}/kill", seg(id)?), &[])
        .await
        .map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found("container", id),
            other => other,
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn started_is_the_earliest_parseable_history_time_then_status_time() {
        let m = map(json!({"history": [
            {"time-recorded": "2026-11-29T01:50:00.000-0400"},
            {"time-recorded": "garbage"},
            {"time-recorded": "2026-11-29T01:10:00.000-0500"}
        ], "status-time": "x"}));
        // 01:10-0500 is 06:10Z, later than 01:50-0400 (05:50Z)
        assert_eq!(started_display(&m), "2026-11-29T01:50:00.000-0400");
        assert_eq!(
            started_display(&map(json!({"history": [], "status-time": "t"}))),
            "t"
        );
        assert_eq!(started_display(&map(json!({}))), "-");
        assert_eq!(
            started_display(&map(json!({"history": [{"time-recorded": "garbage"}]}))),
            "garbage"
        );
    }

    #[test]
    fn params_split_at_the_first_equals_sign() {
        assert_eq!(parse_param("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_param("a="), Ok(("a".into(), String::new())));
        assert!(parse_param("ab").is_err());
        assert!(parse_param("=b").is_err());
    }

    #[test]
    fn experiment_maps_to_the_single_session_input_and_conflicts_are_refused() {
        let w = Wrapper(map(json!({"id": 3, "external-inputs": [
            {"name": "session", "type": "Session"}, {"name": "scan", "type": "Scan"}
        ]})));
        let p = launch_params(&w, &[("x".into(), "1".into())], Some("E1")).unwrap();
        assert_eq!(Value::Object(p), json!({"x": "1", "session": "E1"}));
        let clash = launch_params(&w, &[("session".into(), "E2".into())], Some("E1"));
        assert_eq!(clash.unwrap_err().exit_code(), 1);
        let dup = launch_params(
            &w,
            &[("x".into(), "1".into()), ("x".into(), "2".into())],
            None,
        );
        assert_eq!(dup.unwrap_err().exit_code(), 2);
        let none = Wrapper(map(json!({"id": 4, "external-inputs": []})));
        assert!(launch_params(&none, &[], Some("E1")).is_err());
    }
}
