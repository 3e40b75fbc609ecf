//! The Container Service plugin's Docker settings (`/xapi/docker/...`): what `admin docker` reads.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::XnatClient;
use crate::core::error::snippet;
use crate::core::output::{Item, Row};
use crate::core::{Error, Result};

/// One image the daemon holds: `image-id`, `tags`, and the rest of the plugin's bean.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Image(pub Map<String, Value>);

impl Row for Image {
    const COLUMNS: &'static [(&'static str, &'static str)] =
        &[("image-id", "Image ID"), ("tags", "Tags")];
    const ID: &'static str = "image-id";
}

/// One configured image hub.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Hub(pub Map<String, Value>);

impl Row for Hub {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "ID"),
        ("name", "Name"),
        ("url", "URL"),
        ("default", "Default"),
    ];
    const ID: &'static str = "id";
}

/// The daemon connection setting, as sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Server(pub Map<String, Value>);

impl Item for Server {
    const ID: &'static str = "host";
}

async fn array(client: &XnatClient, path: &str) -> Result<Vec<Map<String, Value>>> {
    match client.get_json(path, &[]).await? {
        Value::Array(a) => Ok(a
            .into_iter()
            .filter_map(|v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .collect()),
        other => Err(Error::Operation(format!(
            "expected a JSON array from {path}: {}",
            snippet(&other.to_string(), 120)
        ))),
    }
}

/// `GET /xapi/docker/images`.
pub async fn images(client: &XnatClient) -> Result<Vec<Image>> {
    Ok(array(client, "/xapi/docker/images")
        .await?
        .into_iter()
        .map(Image)
        .collect())
}

/// `GET /xapi/docker/hubs`.
pub async fn hubs(client: &XnatClient) -> Result<Vec<Hub>> {
    Ok(array(client, "/xapi/docker/hubs")
        .await?
        .into_iter()
        .map(Hub)
        .collect())
}

/// `GET /xapi/docker/server`.
pub async fn server(client: &XnatClient) -> Result<Server> {
    match client.get_json("/xapi/docker/server", &[]).await? {
        Value::Object(m) => Ok(Server(m)),
        other => Err(Error::Operation(format!(
            "expected a JSON object from /xapi/docker/server: {}",
            snippet(&other.to_string(), 120)
        ))),
    }
}

/// `POST /xapi/docker/pull?image=IMAGE&save-commands=true|false` (admins only).
pub async fn pull(client: &XnatClient, image: &str, save_commands: bool) -> Result<()> {
    let save = if save_commands { "true" } else { "false" };
    client
        .post(
            "/xapi/docker/pull",
            &[("image", image), ("save-commands", save)],
        )
        .await?;
    Ok(())
}

/// `server --set-host HOST`: read the current setting (a daemon-unreachable 500 counts as none),
/// drop `ping`, replace `host`, and `POST /xapi/docker/server` it; the server's answer comes back.
pub async fn set_server_host(client: &XnatClient, host: &str) -> Result<Server> {
    let mut current = match server(client).await {
        Ok(Server(m)) => m,
        Err(Error::Http { status: 500, .. }) => Map::new(),
        Err(Error::RetryExhausted { last, .. }) if last.contains("500") => Map::new(),
        Err(e) => return Err(e),
    };
    current.remove("ping");
    current.insert("host".into(), Value::from(host));
    let resp = client
        .request(reqwest::Method::POST, "/xapi/docker/server")
        .json(&Value::Object(current))
        .read()
        .await?;
    match serde_json::from_slice(&resp) {
        Ok(Value::Object(m)) => Ok(Server(m)),
        _ => Ok(Server(Map::new())),
    }
}
