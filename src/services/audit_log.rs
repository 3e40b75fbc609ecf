//! The server-side audit log the reference's `admin audit` reads (`GET /xapi/audit`). Stock
//! XNAT has no such endpoint (it answers 404); some plugins add one.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::XnatClient;
use crate::core::output::Row;
use crate::core::{Error, Result};

/// One audit entry: the five columns the reference shows, plus whatever else the server sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// When it happened.
    pub timestamp: Value,
    /// Who did it.
    pub user: Value,
    /// What was done.
    pub action: Value,
    /// What it was done to.
    pub resource: Value,
    /// The project, when there is one.
    pub project: Value,
    /// Every other field.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl Row for AuditEntry {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("timestamp", "Timestamp"),
        ("user", "User"),
        ("action", "Action"),
        ("resource", "Resource"),
        ("project", "Project"),
    ];
    const ID: &'static str = "timestamp";
}

fn entry(mut m: Map<String, Value>) -> AuditEntry {
    let mut take = |k: &str| m.remove(k).unwrap_or_else(|| Value::from(""));
    AuditEntry {
        timestamp: take("timestamp"),
        user: take("user"),
        action: take("action"),
        resource: take("resource"),
        project: take("project"),
        rest: m,
    }
}

/// `GET /xapi/audit?<params>&format=json`: a list, or `ResultSet.Result`, or `items`. A missing
/// endpoint or an unreadable answer says the log is not available (exit 1); authentication,
/// permission and network failures keep their own exit codes.
pub async fn entries(client: &XnatClient, params: &[(&str, &str)]) -> Result<Vec<AuditEntry>> {
    let unavailable = |e: &dyn std::fmt::Display| {
        Error::Operation(format!(
            "Audit log not available: {e} (audit logging may not be enabled on this XNAT server)"
        ))
    };
    let value = match client.get_json("/xapi/audit", params).await {
        Ok(v) => v,
        Err(
            e @ (Error::Auth(_)
            | Error::SessionExpired(_)
            | Error::PermissionDenied(_)
            | Error::Network(_)
            | Error::Unreachable { .. }
            | Error::Timeout(_)
            | Error::RetryExhausted { .. }),
        ) => return Err(e),
        Err(e) => return Err(unavailable(&e)),
    };
    let rows = match value {
        Value::Array(a) => a,
        Value::Object(mut m) => match m
            .get_mut("ResultSet")
            .and_then(|rs| rs.get_mut("Result"))
            .map(Value::take)
        {
            Some(Value::Array(a)) => a,
            _ => match m.remove("items") {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            },
        },
        other => return Err(unavailable(&format!("unexpected answer {other}"))),
    };
    Ok(rows
        .into_iter()
        .filter_map(|v| match v {
            Value::Object(m) => Some(entry(m)),
            _ => None,
        })
        .collect())
}
