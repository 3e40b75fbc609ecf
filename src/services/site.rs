//! Site-wide information and settings (`/xapi/siteConfig`): what `admin` reads and changes.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::XnatClient;
use crate::core::error::snippet;
use crate::core::output::Item;
use crate::core::{Error, Result};

/// `GET /xapi/siteConfig/buildInfo`: the server's build manifest (every value a string on a
/// real XNAT: `version`, `buildNumber`, `buildDate`, `sha`, `commit`, `tag`, ...), as sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct BuildInfo(pub Map<String, Value>);

impl Item for BuildInfo {
    const ID: &'static str = "version";
}

/// The server's build information (XNAT serves it without authentication).
pub async fn build_info(client: &XnatClient) -> Result<BuildInfo> {
    // Asked without `format=json`, as the reference does: the endpoint always answers JSON.
    let text = client.get_text("/xapi/siteConfig/buildInfo", &[]).await?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => Ok(BuildInfo(m)),
        _ => Err(Error::Operation(format!(
            "the server's build information is not a JSON object: {}",
            snippet(&text, 120)
        ))),
    }
}
