//! The XSync plugin's endpoints (NrgXnat/xsync, `org.nrg.xsync.xapi`): project setups, status,
//! history, progress log, sync triggers and the three-step credential refresh, with a sync that
//! advances one subject per [`XsyncState::tick`] (the test controls the clock).
//!
//! Shapes follow the plugin: `XsyncConfigurationDashboardController` (`GET /xsync/dashboard`,
//! `XsyncRemoteUrlDetailsPojo` rows; `GET /xsync/dashboard/remoteUrl?remoteUrl=`,
//! `XsyncDashboardProjectConfigurationPojo` rows), `XsyncSetupController` (`GET
//! /xsync/setup/projects/{P}`), `XsyncStatusController` (`GET /xsync/syncStatus/projects/{P}`,
//! `ProjectSyncStatus`), `XsyncHistoryController` (`GET /xsync/history/projects/{P}`),
//! `XsyncOperationsController` (`POST /xsync/projects/{P}` → `"{P} synchronization started"`,
//! `POST /xsync/syncexperiment/{E}` (404 unknown, 423 while the project syncs), `GET
//! /xsync/progress/{P}` text log, `POST /xsync/remoteREST` JSON `RemoteOperation`) and
//! `XsyncRemoteCredentialsController` (`POST /xsync/credentials/save|check/projects/{P}`, bodies
//! `text/plain` JSON). None of them takes a `format` parameter.
//!
//! Simplifications: `remoteREST` answers a token-issue call as the remote XNAT would (it does not
//! call out), and `credentials/save` does not query the remote project's users.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::access;
use crate::envelope::{json, text};
use crate::params::{Caller, Params};
use crate::AppState;

/// One project's XSync setup and state.
#[derive(Debug, Clone, Default)]
pub struct XsyncProject {
    /// Remote XNAT base URL.
    pub remote_url: String,
    /// Remote project.
    pub remote_project: String,
    /// `daily`, `weekly`, `manual`, ...
    pub frequency: String,
    /// Stored remote alias token and secret (`credentials/save`).
    pub alias: Option<(String, String)>,
    /// Remote login the alias belongs to.
    pub remote_user: Option<String>,
    /// Subjects still to sync in the running sync (None: not syncing).
    pub pending: Option<Vec<String>>,
    /// Subjects the running sync completed.
    pub completed: Vec<String>,
    /// Start of the running or last sync.
    pub started: Option<String>,
    /// End of the last sync.
    pub ended: Option<String>,
    /// The progress log.
    pub log: Vec<String>,
    /// Finished syncs (`XsyncProjectHistory`).
    pub history: Vec<Value>,
}

/// Every project's XSync state, and the simulated clock.
#[derive(Debug, Clone, Default)]
pub struct XsyncState {
    /// By local project id.
    pub projects: BTreeMap<String, XsyncProject>,
    /// Ticks so far (each is one simulated minute).
    pub clock: u64,
    /// Tokens issued through `remoteREST`.
    pub issued: u64,
}

impl XsyncState {
    /// Bind `project` to `remote_project` on `remote_url` (what the plugin's setup page does).
    pub fn setup(&mut self, project: &str, remote_url: &str, remote_project: &str) {
        self.projects.insert(
            project.to_string(),
            XsyncProject {
                remote_url: remote_url.to_string(),
                remote_project: remote_project.to_string(),
                frequency: "manual".into(),
                ..XsyncProject::default()
            },
        );
    }

    fn stamp(&self) -> String {
        let m = self.clock;
        format!("2026-01-01 {:02}:{:02}:00", (m / 60) % 24, m % 60)
    }

    /// Advance the clock one step: every running sync completes one subject, and finishes (into
    /// the history) when none is left.
    pub fn tick(&mut self) {
        self.clock += 1;
        let now = self.stamp();
        for (pid, p) in self.projects.iter_mut() {
            let Some(pending) = p.pending.as_mut() else {
                continue;
            };
            if let Some(s) = (!pending.is_empty()).then(|| pending.remove(0)) {
                p.log.push(format!("{now} Subject {s} synchronized"));
                p.completed.push(s);
            }
            if p.pending.as_ref().is_some_and(Vec::is_empty) {
                p.pending = None;
                p.ended = Some(now.clone());
                p.log
                    .push(format!("{now} Synchronization of {pid} complete"));
                let id = p.history.len() as u64 + 1;
                p.history.push(json!({
                    "id": id,
                    "startDate": p.started,
                    "completeDate": now,
                    "remoteHost": p.remote_url,
                    "remoteProject": p.remote_project,
                    "localProject": pid,
                    "syncStatus": "COMPLETE",
                    "syncUser": "admin",
                    "totalSubjects": p.completed.len(),
                    "totalExperiments": 0,
                    "totalAssessors": 0,
                    "totalResources": 0,
                    "totalDataSynced": "0 B",
                }));
            }
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/xapi/xsync/dashboard", get(dashboard))
        .route("/xapi/xsync/dashboard/remoteUrl", get(dashboard_remote))
        .route("/xapi/xsync/setup/projects/{project}", get(setup))
        .route("/xapi/xsync/syncStatus/projects/{project}", get(status))
        .route("/xapi/xsync/history/projects/{project}", get(history))
        .route("/xapi/xsync/progress/{project}", get(progress))
        .route("/xapi/xsync/projects/{project}", post(sync))
        .route(
            "/xapi/xsync/syncexperiment/{experiment}",
            post(sync_experiment),
        )
        .route("/xapi/xsync/remoteREST", post(remote_rest))
        .route(
            "/xapi/xsync/credentials/save/projects/{project}",
            post(save),
        )
        .route(
            "/xapi/xsync/credentials/check/projects/{project}",
            post(check),
        )
}

/// The plugin's `canReadProject`/`canEditProject`: a status to answer instead, if any.
fn denied(app: &AppState, caller: &Caller, project: &str, edit: bool) -> Option<Response> {
    if caller.username.is_none() {
        return Some(text(StatusCode::UNAUTHORIZED, ""));
    }
    let st = app.read();
    let Some(p) = st.projects.get(project) else {
        return Some(text(StatusCode::NOT_FOUND, ""));
    };
    let ok = if edit {
        access::can_edit(caller, p)
    } else {
        access::can_read(caller, p)
    };
    (!ok).then(|| text(StatusCode::FORBIDDEN, ""))
}

async fn dashboard(State(app): State<AppState>, caller: Caller) -> Response {
    if !caller.admin {
        return text(StatusCode::FORBIDDEN, "");
    }
    let st = app.read();
    let mut by_url: BTreeMap<&str, usize> = BTreeMap::new();
    for p in st.xsync.projects.values() {
        *by_url.entry(p.remote_url.as_str()).or_default() += 1;
    }
    let rows: Vec<Value> = by_url
        .into_iter()
        .map(|(url, n)| {
            json!({"remoteUrl": url, "siteName": url, "classification": "",
                   "numberProjects": n, "numberErrors": 0})
        })
        .collect();
    json(StatusCode::OK, &Value::Array(rows))
}

fn trim_slash(s: &str) -> &str {
    s.trim_end_matches('/')
}

async fn dashboard_remote(State(app): State<AppState>, caller: Caller, q: Params) -> Response {
    if !caller.admin {
        return text(StatusCode::FORBIDDEN, "");
    }
    let Some(url) = q.get("remoteUrl") else {
        return text(
            StatusCode::BAD_REQUEST,
            "Required String parameter 'remoteUrl' is not present",
        );
    };
    let st = app.read();
    let rows: Vec<Value> = st
        .xsync
        .projects
        .iter()
        .filter(|(_, p)| trim_slash(&p.remote_url) == trim_slash(url))
        .map(|(pid, p)| {
            json!({"localProject": pid, "remoteProject": p.remote_project,
                   "status": if p.pending.is_some() { "SYNCING" } else { "IDLE" },
                   "frequency": p.frequency,
                   "lastSyncStatus": p.history.last().and_then(|h| h.get("syncStatus")).cloned()})
        })
        .collect();
    json(StatusCode::OK, &Value::Array(rows))
}

async fn setup(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> Response {
    if let Some(r) = denied(&app, &caller, &project, false) {
        return r;
    }
    let st = app.read();
    match st.xsync.projects.get(&project) {
        None => text(
            StatusCode::NOT_FOUND,
            format!("Element not found: {project}"),
        ),
        Some(p) => json(
            StatusCode::OK,
            &json!({"source_project_id": project, "remote_url": p.remote_url,
                    "remote_project_id": p.remote_project, "sync_frequency": p.frequency,
                    "enabled": true, "sync_new_only": true, "identifiers": "use_local",
                    "anonymize": false, "no_of_retry_days": 3}),
        ),
    }
}

async fn status(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> Response {
    if let Some(r) = denied(&app, &caller, &project, false) {
        return r;
    }
    let st = app.read();
    let p = st.xsync.projects.get(&project).cloned().unwrap_or_default();
    let syncing = p.pending.is_some();
    json(
        StatusCode::OK,
        &json!({
            "isSyncing": syncing,
            "syncType": if p.started.is_some() { "PROJECT_SYNC" } else { "NONE_SINCE_STARTUP" },
            "syncStartTime": p.started,
            "syncEndTime": if syncing { None } else { p.ended.clone() },
            "currentSubject": p.pending.as_ref().and_then(|v| v.first().cloned()),
            "currentExperiment": null,
            "currentExperimentType": null,
            "historyId": p.history.len(),
            "wasSyncSuccessful": if syncing || p.ended.is_none() { None } else { Some(true) },
            "initialSubjectList": p.completed.iter().chain(p.pending.iter().flatten()).collect::<Vec<_>>(),
            "completedSubjects": p.completed,
            "failedSubjects": [],
            "completedExperiments": {},
            "failedExperiments": {},
        }),
    )
}

async fn history(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> Response {
    if let Some(r) = denied(&app, &caller, &project, false) {
        return r;
    }
    let st = app.read();
    let rows = st
        .xsync
        .projects
        .get(&project)
        .map(|p| p.history.clone())
        .unwrap_or_default();
    json(StatusCode::OK, &Value::Array(rows))
}

async fn progress(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> Response {
    if let Some(r) = denied(&app, &caller, &project, false) {
        // The plugin returns an empty 200 when the user may not read the project.
        return if r.status() == StatusCode::FORBIDDEN {
            text(StatusCode::OK, "")
        } else {
            r
        };
    }
    let st = app.read();
    let log = st
        .xsync
        .projects
        .get(&project)
        .map(|p| p.log.iter().map(|l| format!("{l}\n")).collect::<String>())
        .unwrap_or_default();
    text(StatusCode::OK, log)
}

fn start_sync(app: &AppState, project: &str) -> Result<(), Response> {
    let mut st = app.write();
    let subjects: Vec<String> = {
        let mut v: Vec<String> = st
            .subjects
            .values()
            .filter(|s| s.project == project)
            .map(|s| s.label.clone())
            .collect();
        v.sort();
        v
    };
    let now = st.xsync.stamp();
    let Some(p) = st.xsync.projects.get_mut(project) else {
        return Err(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("XSync is not configured for project {project}"),
        ));
    };
    if p.pending.is_none() {
        p.pending = Some(subjects);
        p.completed.clear();
        p.started = Some(now.clone());
        p.ended = None;
        p.log
            .push(format!("{now} Synchronization of {project} started"));
    }
    Ok(())
}

async fn sync(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> Response {
    if let Some(r) = denied(&app, &caller, &project, true) {
        return r;
    }
    match start_sync(&app, &project) {
        Ok(()) => text(StatusCode::OK, format!("{project} synchronization started")),
        Err(r) => r,
    }
}

async fn sync_experiment(
    State(app): State<AppState>,
    caller: Caller,
    Path(experiment): Path<String>,
) -> Response {
    let project = {
        let st = app.read();
        match st.experiments.get(&experiment) {
            Some(e) => e.project.clone(),
            None => return text(StatusCode::NOT_FOUND, ""),
        }
    };
    if let Some(r) = denied(&app, &caller, &project, true) {
        return r;
    }
    let mut st = app.write();
    let now = st.xsync.stamp();
    match st.xsync.projects.get_mut(&project) {
        Some(p) if p.pending.is_some() => text(StatusCode::LOCKED, ""),
        Some(p) => {
            p.log
                .push(format!("{now} Experiment {experiment} synchronized"));
            text(
                StatusCode::OK,
                format!("{experiment} synchronization started"),
            )
        }
        None => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("XSync is not configured for project {project}"),
        ),
    }
}

/// `RemoteOperation` `{url, method, username, password[, proxy]}`: the plugin makes the call
/// with those credentials and answers its body. Here a token-issue call is answered as XNAT's
/// `/data/services/tokens/issue` would; blank credentials are the plugin's
/// `XsyncCredentialsRequiredException` (a 400 from its controller advice).
async fn remote_rest(State(app): State<AppState>, caller: Caller, body: Bytes) -> Response {
    if caller.username.is_none() {
        return text(StatusCode::UNAUTHORIZED, "");
    }
    let op: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("Invalid JSON: {e}")),
    };
    let field = |k: &str| op.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (url, user, pass) = (field("url"), field("username"), field("password"));
    if user.trim().is_empty() || pass.trim().is_empty() {
        return text(
            StatusCode::BAD_REQUEST,
            format!("Credentials are required to access {url}"),
        );
    }
    if pass == "wrong" {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "401 Unauthorized");
    }
    if !url.ends_with("/data/services/tokens/issue") {
        return text(StatusCode::OK, "");
    }
    let mut st = app.write();
    st.xsync.issued += 1;
    let n = st.xsync.issued;
    text(
        StatusCode::OK,
        json!({"alias": format!("alias-{n:04}"), "secret": format!("secret-{n:04}"),
               "xdatUserId": "7", "estimatedExpirationTime": 1_800_000_000_000u64})
        .to_string(),
    )
}

fn body_json(headers: &HeaderMap, body: &[u8]) -> Result<Value, Response> {
    let plain = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !plain {
        return Err(text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content type not supported (text/plain expected)",
        ));
    }
    serde_json::from_slice(body).map_err(|_| {
        text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "XSync saving of remote credentials failed ",
        )
    })
}

async fn save(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v = match body_json(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let f = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (host, alias, secret, local, user) = (
        f("host"),
        f("alias"),
        f("secret"),
        f("localProject"),
        f("username"),
    );
    if [&host, &alias, &secret, &local, &user]
        .iter()
        .any(|s| s.is_empty())
    {
        return text(
            StatusCode::BAD_REQUEST,
            "Could not save remote credentials.  Incomplete information supplied.",
        );
    }
    if let Some(r) = denied(&app, &caller, &local, true) {
        return r;
    }
    let mut st = app.write();
    let p = st.xsync.projects.entry(project.clone()).or_default();
    if p.remote_url.is_empty() {
        p.remote_url = host.clone();
        p.remote_project = f("remoteProject");
    }
    p.alias = Some((alias, secret));
    p.remote_user = Some(user);
    text(StatusCode::OK, "XSync remote credentials set.")
}

async fn check(
    State(app): State<AppState>,
    caller: Caller,
    Path(_project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v = match body_json(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let f = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (host, local) = (f("host"), f("localProject"));
    if host.is_empty() || local.is_empty() {
        return text(
            StatusCode::BAD_REQUEST,
            "Could not check remote credentials.  Incomplete information supplied.",
        );
    }
    if let Some(r) = denied(&app, &caller, &local, true) {
        return r;
    }
    let st = app.read();
    match st.xsync.projects.get(&local) {
        Some(p) if p.alias.is_some() && trim_slash(&p.remote_url) == trim_slash(&host) => {
            text(StatusCode::OK, "0123456789ABCDEF0123456789ABCDEF")
        }
        _ => text(StatusCode::BAD_REQUEST, "Could not connect"),
    }
}
