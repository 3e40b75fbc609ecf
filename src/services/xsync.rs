//! XSync, the XNAT plugin that pushes a project to a remote XNAT (NrgXnat/xsync): its setups,
//! status, history and progress log, sync triggers, and the credential refresh.
//!
//! Paths are the plugin's (`org.nrg.xsync.xapi`): `GET /xapi/xsync/dashboard[/remoteUrl]`,
//! `/xapi/xsync/setup/projects/{P}`, `/xapi/xsync/syncStatus/projects/{P}`,
//! `/xapi/xsync/history/projects/{P}`, `/xapi/xsync/progress/{P}`, `POST /xapi/xsync/projects/{P}`,
//! `POST /xapi/xsync/syncexperiment/{E}`, `POST /xapi/xsync/remoteREST` and
//! `POST /xapi/xsync/credentials/{save,check}/projects/{P}`. None takes a `format` parameter
//! (the plugin's controllers answer JSON or text on their own), and the credential bodies are
//! JSON sent as `text/plain`, which is what the controllers consume.

use bytes::Bytes;
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};

use crate::core::client::{seg, XnatClient};
use crate::core::{Error, Result};

/// Which per-project document to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doc {
    /// The project's XSync configuration.
    Setup,
    /// The running or last sync (`ProjectSyncStatus`).
    Status,
    /// Finished syncs.
    History,
}

fn parse(bytes: &Bytes, path: &str) -> Result<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|source| Error::Json {
        context: if path.contains("dashboard") {
            "reading the XSync dashboard"
        } else {
            "reading an XSync answer"
        },
        source,
    })
}

async fn get(client: &XnatClient, path: &str, query: &[(&str, &str)]) -> Result<Value> {
    let bytes = client
        .request(Method::GET, path)
        .query_pairs(query.iter().copied())
        .read()
        .await?;
    parse(&bytes, path)
}

/// Remote destinations configured on this site (admins only).
pub async fn list(client: &XnatClient) -> Result<Value> {
    get(client, "/xapi/xsync/dashboard", &[]).await
}

/// One project's setup, status or history.
pub async fn document(client: &XnatClient, doc: Doc, project: &str) -> Result<Value> {
    let kind = match doc {
        Doc::Setup => "setup",
        Doc::Status => "syncStatus",
        Doc::History => "history",
    };
    get(
        client,
        &format!("/xapi/xsync/{kind}/projects/{}", seg(project)?),
        &[],
    )
    .await
}

/// The project's sync log (plain text).
pub async fn progress(client: &XnatClient, project: &str) -> Result<String> {
    let bytes = client
        .request(
            Method::GET,
            &format!("/xapi/xsync/progress/{}", seg(project)?),
        )
        .read()
        .await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

async fn post_text(client: &XnatClient, path: &str) -> Result<String> {
    let resp = client.request(Method::POST, path).send().await?;
    resp.text().await.map_err(|source| Error::Body {
        context: format!("reading the answer to {path}"),
        source,
    })
}

/// Start a sync of the project; answers the plugin's message.
pub async fn sync(client: &XnatClient, project: &str) -> Result<String> {
    post_text(client, &format!("/xapi/xsync/projects/{}", seg(project)?)).await
}

/// Sync one experiment (by accession id); a project already syncing answers 423.
pub async fn sync_experiment(client: &XnatClient, experiment: &str) -> Result<String> {
    post_text(
        client,
        &format!("/xapi/xsync/syncexperiment/{}", seg(experiment)?),
    )
    .await
    .map_err(|e| match e {
        Error::Http { status: 423, .. } => Error::Operation(format!(
            "the project of {experiment} is being synchronized; try again when it is done"
        )),
        other => other,
    })
}

/// A project bound to a remote, from `GET /xapi/xsync/dashboard/remoteUrl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// Local project.
    pub local: String,
    /// Remote project.
    pub remote: String,
}

/// The projects XSync sends to `remote_url`.
pub async fn bound_to(client: &XnatClient, remote_url: &str) -> Result<Vec<Bound>> {
    let v = get(
        client,
        "/xapi/xsync/dashboard/remoteUrl",
        &[("remoteUrl", remote_url)],
    )
    .await?;
    let text = |r: &Value, k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .map(|r| Bound {
            local: text(r, "localProject"),
            remote: text(r, "remoteProject"),
        })
        .filter(|b| !b.local.is_empty())
        .collect())
}

/// The (local, remote) project pairs a credential refresh covers: `single` (its remote name
/// defaulting to the local one), or every project bound to `remote_url`.
pub async fn refresh_targets(
    client: &XnatClient,
    single: Option<(String, String)>,
    remote_url: &str,
) -> Result<Vec<Bound>> {
    if let Some((local, remote)) = single {
        return Ok(vec![Bound { local, remote }]);
    }
    let bound = bound_to(client, remote_url).await?;
    if bound.is_empty() {
        return Err(Error::Operation(format!(
            "No XSync-bound projects matched --remote-url {remote_url}"
        )));
    }
    Ok(bound)
}

/// What a credential refresh needs.
#[derive(Debug, Clone)]
pub struct Refresh {
    /// Remote XNAT base URL (no trailing `/`).
    pub remote_url: String,
    /// Remote login.
    pub remote_user: String,
    /// Local project.
    pub local_project: String,
    /// Remote project.
    pub remote_project: String,
    /// Sync only new data.
    pub sync_new_only: bool,
}

/// One project's credential refresh, as the plugin's UI does it: ask the remote for an alias
/// token through `remoteREST` (`GET <remote>/data/services/tokens/issue` with the user's
/// password), store it with `credentials/save`, and have the plugin try it with
/// `credentials/check`. Answers the check's message.
pub async fn refresh(client: &XnatClient, r: &Refresh, password: &str) -> Result<String> {
    let op = json!({
        "url": format!("{}/data/services/tokens/issue", r.remote_url),
        "method": "GET",
        "username": r.remote_user,
        "password": password,
    });
    let issued = client
        .request(Method::POST, "/xapi/xsync/remoteREST")
        .json(&op)
        .send()
        .await?
        .text()
        .await
        .map_err(|source| Error::Body {
            context: "reading the remote token".into(),
            source,
        })?;
    let token: Value = serde_json::from_str(&issued).map_err(|_| {
        Error::Operation(format!(
            "the remote XNAT did not issue a token (answer: {})",
            issued.chars().take(120).collect::<String>()
        ))
    })?;
    let field = |k: &str| match token.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let (alias, secret) = (field("alias"), field("secret"));
    if alias.is_empty() || secret.is_empty() {
        return Err(Error::Operation(
            "the remote XNAT's token has no alias or secret".into(),
        ));
    }
    let mut save = json!({
        "host": r.remote_url,
        "alias": alias,
        "secret": secret,
        "username": r.remote_user,
        "localProject": r.local_project,
        "remoteProject": r.remote_project,
        "syncNewOnly": r.sync_new_only,
    });
    let expiry = field("estimatedExpirationTime");
    if !expiry.is_empty() {
        save["estimatedExpirationTime"] = Value::from(expiry);
    }
    let project = seg(&r.local_project)?;
    client
        .request(
            Method::POST,
            &format!("/xapi/xsync/credentials/save/projects/{project}"),
        )
        .bytes(save.to_string(), "text/plain")
        .send()
        .await?;
    let check = json!({"host": r.remote_url, "localProject": r.local_project});
    client
        .request(
            Method::POST,
            &format!("/xapi/xsync/credentials/check/projects/{project}"),
        )
        .bytes(check.to_string(), "text/plain")
        .send()
        .await
        .map_err(|e| Error::Operation(format!("the stored credentials do not work: {e}")))?;
    Ok(format!(
        "Refreshed XSync credentials for {}",
        r.local_project
    ))
}

/// One row of `xsync refresh-credentials`.
#[derive(Debug, Clone, Serialize)]
pub struct RefreshRow {
    /// Local project.
    pub project: String,
    /// Remote project.
    pub remote_project: String,
    /// `success`, `failed` or `dry_run`.
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
}

impl crate::core::output::Row for RefreshRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("project", "Project"),
        ("remote_project", "Remote project"),
        ("status", "Status"),
        ("error", "Error"),
    ];
    const ID: &'static str = "project";
}
