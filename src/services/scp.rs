//! XNAT's DICOM SCP receivers (`/xapi/dicomscp`): what `scp` lists and changes.

use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::core::client::XnatClient;
use crate::core::output::{Item, Row};
use crate::core::{Error, Result};

/// One receiver as the server sends it (`id`, `aeTitle`, `port`, `identifier`, `enabled`,
/// `label`, routing and whitelist settings ...), printed verbatim in JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Receiver(pub Map<String, Value>);

impl Receiver {
    /// The receiver id (0 if missing).
    pub fn id(&self) -> u64 {
        self.0.get("id").and_then(Value::as_u64).unwrap_or(0)
    }
    /// The port (0 if missing).
    pub fn port(&self) -> u64 {
        match self.0.get("port") {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
            Some(Value::String(s)) => s.parse().unwrap_or(0),
            _ => 0,
        }
    }
    /// The AE title.
    pub fn ae_title(&self) -> String {
        self.0
            .get("aeTitle")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    }
}

impl Row for Receiver {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "ID"),
        ("aeTitle", "AE Title"),
        ("port", "Port"),
        ("identifier", "Identifier"),
        ("enabled", "Enabled"),
        ("label", "Label"),
    ];
    const ID: &'static str = "id";
}

impl Item for Receiver {
    const ID: &'static str = "id";
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("id", "ID"), ("aeTitle", "AE Title")];
}

/// Check an AE title: trimmed, 1-16 printable ASCII characters, no backslash (exit 2).
pub fn validate_ae_title(value: &str) -> Result<String> {
    let t = value.trim();
    if t.is_empty() || t.len() > 16 || t.chars().any(|c| !(' '..='~').contains(&c) || c == '\\') {
        return Err(Error::usage(format!(
            "invalid AE title: {value:?} - must be 1-16 printable ASCII characters without a backslash"
        )));
    }
    Ok(t.to_string())
}

/// Check a port: 1-65535 (exit 2).
pub fn validate_port(value: i64) -> Result<u16> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| Error::usage(format!("invalid port: {value} (must be 1-65535)")))
}

fn object(v: Value, what: &str) -> Result<Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(Error::Operation(format!(
            "unexpected {what} from the server: {other}"
        ))),
    }
}

/// `GET /xapi/dicomscp?format=json`.
pub async fn list(client: &XnatClient) -> Result<Vec<Receiver>> {
    match client.get_json("/xapi/dicomscp", &[]).await? {
        Value::Array(a) => a
            .into_iter()
            .map(|v| object(v, "receiver").map(Receiver))
            .collect(),
        other => Err(Error::Operation(format!(
            "unexpected receiver list from the server: {other}"
        ))),
    }
}

/// `GET /xapi/dicomscp/{id}?format=json`; 404 → `DICOM SCP receiver not found: ID` (exit 5).
pub async fn show(client: &XnatClient, id: u64) -> Result<Receiver> {
    let v = client
        .get_json(&format!("/xapi/dicomscp/{id}"), &[])
        .await
        .map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found("DICOM SCP receiver", id.to_string()),
            other => other,
        })?;
    Ok(Receiver(object(v, "receiver")?))
}

/// The receiver to create, after the server-side checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReceiver {
    /// AE title.
    pub ae_title: String,
    /// Port.
    pub port: u16,
    /// Object identifier bean.
    pub identifier: String,
}

/// Resolve the identifier (`GET /xapi/dicomscp/identifiers`: the given one must exist; without
/// one, the server's only one) and refuse a port another receiver already uses.
pub async fn plan_create(
    client: &XnatClient,
    ae_title: &str,
    port: u16,
    identifier: Option<&str>,
) -> Result<NewReceiver> {
    let ids = object(
        client.get_json("/xapi/dicomscp/identifiers", &[]).await?,
        "identifier list",
    )?;
    let known: Vec<&String> = ids.keys().collect();
    let identifier = match identifier {
        Some(k) if ids.contains_key(k) => k.to_string(),
        Some(k) => {
            return Err(Error::InvalidInput(format!(
                "unknown identifier: {k} (the server has: {})",
                join(&known)
            )))
        }
        None if known.len() == 1 => known[0].clone(),
        None if known.is_empty() => {
            return Err(Error::Operation(
                "the server offers no DICOM object identifiers".into(),
            ))
        }
        None => {
            return Err(Error::InvalidInput(format!(
                "the server has several identifiers; choose one with --identifier: {}",
                join(&known)
            )))
        }
    };
    if let Some(r) = list(client)
        .await?
        .into_iter()
        .find(|r| r.port() == u64::from(port))
    {
        return Err(Error::Operation(format!(
            "DICOM SCP receiver on port already exists: {port} (existing receiver: aeTitle='{}', id={})",
            r.ae_title(),
            r.id()
        )));
    }
    Ok(NewReceiver {
        ae_title: ae_title.to_string(),
        port,
        identifier,
    })
}

fn join(keys: &[&String]) -> String {
    keys.iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `POST /xapi/dicomscp` `{"aeTitle","port","identifier"}`: the created receiver.
pub async fn create(client: &XnatClient, new: &NewReceiver) -> Result<Receiver> {
    let body = json!({"aeTitle": new.ae_title, "port": new.port, "identifier": new.identifier});
    let bytes = client
        .request(Method::POST, "/xapi/dicomscp")
        .json(&body)
        .read()
        .await?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Operation(format!("the created receiver is not JSON: {e}")))?;
    Ok(Receiver(object(v, "receiver")?))
}

/// `PUT /xapi/dicomscp/{id}` `{"enabled": on}`.
pub async fn set_enabled(client: &XnatClient, id: u64, on: bool) -> Result<()> {
    client
        .request(Method::PUT, &format!("/xapi/dicomscp/{id}"))
        .json(&json!({ "enabled": on }))
        .send()
        .await?;
    Ok(())
}

/// `DELETE /xapi/dicomscp/{id}`.
pub async fn delete(client: &XnatClient, id: u64) -> Result<()> {
    client
        .request(Method::DELETE, &format!("/xapi/dicomscp/{id}"))
        .send()
        .await
        .map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found("DICOM SCP receiver", id.to_string()),
            other => other,
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ae_titles_and_ports_follow_the_rules() {
        assert_eq!(validate_ae_title(" XNAT ").unwrap(), "XNAT");
        for bad in ["", "A\\B", "SEVENTEEN_CHARS_X", "tab\there"] {
            assert!(validate_ae_title(bad).is_err(), "{bad}");
        }
        assert_eq!(validate_port(104).unwrap(), 104);
        assert!(validate_port(0).is_err() && validate_port(65536).is_err());
    }
}
