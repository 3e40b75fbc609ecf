//! Site-wide information and settings (`/xapi/siteConfig`): what `admin` reads and changes.

use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::{seg, XnatClient};
use crate::core::error::snippet;
use crate::core::output::{Item, Row as OutputRow};
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

/// `GET /xapi/siteConfig`: every site preference the caller may read, typed as XNAT types them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct SiteConfig(pub Map<String, Value>);

impl Item for SiteConfig {
    const ID: &'static str = "siteId";
}

/// The whole site configuration (asked without `format=json`, as the reference does).
pub async fn site_config(client: &XnatClient) -> Result<SiteConfig> {
    let text = client.get_text("/xapi/siteConfig", &[]).await?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => Ok(SiteConfig(m)),
        _ => Err(Error::Operation(format!(
            "the server's site configuration is not a JSON object: {}",
            snippet(&text, 120)
        ))),
    }
}

fn key_path(key: &str) -> Result<String> {
    Ok(format!("/xapi/siteConfig/{}", seg(key)?))
}

/// `GET /xapi/siteConfig/<KEY>`: one preference, decoded as JSON when the body is JSON and kept
/// as the raw text otherwise (XNAT answers a string preference as plain text). Unknown key → 404
/// (exit 5).
pub async fn site_config_value(client: &XnatClient, key: &str) -> Result<Value> {
    let text = client.get_text(&key_path(key)?, &[]).await?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// `POST /xapi/siteConfig/<KEY>` with `value` as a `text/plain` body (admins only: 403 → exit 6).
pub async fn set_site_config(client: &XnatClient, key: &str, value: &str) -> Result<()> {
    client
        .request(Method::POST, &key_path(key)?)
        .bytes(value.as_bytes().to_vec(), "text/plain")
        .send()
        .await?;
    Ok(())
}

/// True for keys whose values are not shown (`password|secret|token|key|private|captcha`,
/// case-insensitive, anywhere in the key), as the reference decides.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "secret", "token", "key", "private", "captcha"]
        .iter()
        .any(|w| k.contains(w))
}

/// A preference value for a message: strings as they are, anything else as compact JSON.
pub fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One installed plugin (`GET /xapi/plugins`): `id`, `name`, `version` and whatever else the
/// server's bean carries (`pluginClass`, `beanName`, ...), kept for JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plugin {
    /// Plugin id (the key XNAT lists it under).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// Every other field of the bean.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl OutputRow for Plugin {
    const COLUMNS: &'static [(&'static str, &'static str)] =
        &[("id", "ID"), ("name", "Name"), ("version", "Version")];
    const ID: &'static str = "id";
}

/// One plugin's bean (`GET /xapi/plugins/<ID>`), as sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct PluginInfo(pub Map<String, Value>);

impl Item for PluginInfo {
    const ID: &'static str = "id";
}

fn plugin_of(key: Option<&str>, v: Value) -> Plugin {
    let mut m = match v {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert("value".into(), other);
            m
        }
    };
    let mut take = |k: &str| match m.remove(k) {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let mut id = take("id");
    if id.is_empty() {
        id = key.unwrap_or_default().to_string();
    }
    let (name, version) = (take("name"), take("version"));
    Plugin {
        id,
        name,
        version,
        rest: m,
    }
}

/// The installed plugins: XNAT answers an object keyed by plugin id (an array is taken as is).
pub async fn plugins(client: &XnatClient) -> Result<Vec<Plugin>> {
    Ok(match client.get_json("/xapi/plugins", &[]).await? {
        Value::Object(m) => m.into_iter().map(|(k, v)| plugin_of(Some(&k), v)).collect(),
        Value::Array(a) => a.into_iter().map(|v| plugin_of(None, v)).collect(),
        _ => Vec::new(),
    })
}

/// One plugin; an unknown id is a 404 (exit 5), as is an empty or non-object answer.
pub async fn plugin(client: &XnatClient, id: &str) -> Result<PluginInfo> {
    let path = format!("/xapi/plugins/{}", seg(id)?);
    match client.get_json(&path, &[]).await {
        Ok(Value::Object(m)) if !m.is_empty() => Ok(PluginInfo(m)),
        Ok(_) => Err(Error::not_found("plugin", id)),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_are_recognised_anywhere_in_the_name() {
        for k in [
            "smtpPassword",
            "aliasTokenTimeout",
            "RECAPTCHA",
            "privateKeyPath",
            "apiKey",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["siteId", "siteUrl", "sessionTimeout"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }
}
