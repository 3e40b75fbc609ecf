//! Reading XNAT listing bodies: the ResultSet envelope or a bare array, as typed rows when every
//! row fits, else as JSON objects.

use crate::core::error::{Error, Result};

/// The rows of `{"ResultSet":{"Result":[...]}}` or of a bare array, when every row fits `R`.
pub(super) fn typed_rows<R: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<Vec<R>> {
    #[derive(serde::Deserialize)]
    struct Envelope<R> {
        #[serde(rename = "ResultSet")]
        result_set: Body<R>,
    }
    #[derive(serde::Deserialize)]
    struct Body<R> {
        #[serde(rename = "Result")]
        result: Vec<R>,
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first == b'[' {
        serde_json::from_slice::<Vec<R>>(bytes).ok()
    } else {
        serde_json::from_slice::<Envelope<R>>(bytes)
            .ok()
            .map(|e| e.result_set.result)
    }
}

/// Parse a body as JSON, naming the path on failure.
pub(crate) fn parse_json(bytes: &[u8], path: &str) -> Result<serde_json::Value> {
    serde_json::from_slice(bytes).map_err(|e| {
        let text = String::from_utf8_lossy(bytes);
        Error::Operation(format!(
            "the server's answer to {path} is not JSON ({e}): {}",
            crate::core::error::snippet(text.trim(), 200)
        ))
    })
}

/// Rows from a listing document. `key` is a dotted path to the array (`ResultSet.Result` when
/// `None`, also accepting a bare top-level array). Entries that are not objects are dropped.
pub(crate) fn rows_from(
    value: serde_json::Value,
    key: Option<&str>,
) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let array = match key {
        Some(key) => {
            let mut cur = Some(value);
            for part in key.split('.').filter(|p| !p.is_empty()) {
                cur = cur.and_then(|mut v| v.get_mut(part).map(serde_json::Value::take));
            }
            cur
        }
        None => match value {
            serde_json::Value::Array(_) => Some(value),
            mut other => other
                .get_mut("ResultSet")
                .and_then(|rs| rs.get_mut("Result"))
                .map(serde_json::Value::take),
        },
    };
    match array {
        Some(serde_json::Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| match v {
                serde_json::Value::Object(m) => Some(m),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
