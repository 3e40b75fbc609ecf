//! Stored searches: list, read the definition, run, delete.

use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::{seg, XnatClient};
use crate::core::output::{Item, Row};
use crate::core::{Error, Result};
use crate::services::projects::cell;

/// One row of `search list`: the server's row as it comes (XNAT sends `id`,
/// `brief_description`, `description`, `root_element_name`, `secure`, `users`, `tag`,
/// `sort_by_element_name`, ... all as strings), so JSON shows every column, as the reference does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct SavedSearch(pub Map<String, Value>);

impl SavedSearch {
    /// The search id.
    pub fn id(&self) -> String {
        cell(&self.0, "id")
    }
}

/// `search show` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Definition {
    /// Search id.
    pub id: String,
    /// The stored `xdat:stored_search` document.
    pub definition_xml: String,
}

impl Row for SavedSearch {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "ID"),
        ("root_element_name", "Root Element"),
        ("brief_description", "Description"),
        ("secure", "Secure"),
        ("users", "Users"),
    ];
    const ID: &'static str = "id";
}

impl Item for Definition {
    const ID: &'static str = "id";
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("id", "ID"), ("definition_xml", "Definition XML")];
}

/// Check a stored-search id used in a path.
pub fn validate_search_id(id: &str) -> Result<String> {
    let t = id.trim();
    if t.is_empty() || t.len() > 255 || t.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        return Err(Error::invalid_id(
            "saved search",
            id,
            "must be a non-empty id without slashes",
        ));
    }
    Ok(t.to_string())
}

/// The rows of a document that must be a `ResultSet` (anything else is an error, not 0 rows).
fn strict_rows(doc: Value, what: &str) -> Result<Vec<Map<String, Value>>> {
    let Some(rs) = doc.get("ResultSet") else {
        return Err(Error::Operation(format!(
            "unexpected response while {what}: no 'ResultSet' field"
        )));
    };
    Ok(rs
        .get("Result")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|r| r.as_object().cloned()).collect())
        .unwrap_or_default())
}

/// `GET /data/search/saved?format=json`.
pub async fn list(client: &XnatClient) -> Result<Vec<SavedSearch>> {
    let doc = client.get_json("/data/search/saved", &[]).await?;
    Ok(strict_rows(doc, "listing saved searches")?
        .into_iter()
        .map(SavedSearch)
        .collect())
}

fn saved_path(id: &str) -> Result<String> {
    Ok(format!(
        "/data/search/saved/{}",
        seg(&validate_search_id(id)?)?
    ))
}

/// `GET /data/search/saved/{ID}?format=xml`.
pub async fn show(client: &XnatClient, id: &str) -> Result<Definition> {
    let id = validate_search_id(id)?;
    let xml = client
        .get_text(&saved_path(&id)?, &[("format", "xml")])
        .await
        .map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found("saved search", &id),
            other => other,
        })?;
    Ok(Definition {
        id,
        definition_xml: xml,
    })
}

/// `GET /data/search/saved/{ID}/results?format=json`.
pub async fn run(client: &XnatClient, id: &str) -> Result<Vec<Map<String, Value>>> {
    let doc = client
        .get_json(&format!("{}/results", saved_path(id)?), &[])
        .await
        .map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found("saved search", id),
            other => other,
        })?;
    strict_rows(doc, "running the saved search")
}

/// Check the search exists, then (with `apply`) `DELETE /data/search/saved/{ID}`.
pub async fn delete(client: &XnatClient, id: &str, apply: bool) -> Result<()> {
    show(client, id).await?;
    if apply {
        client
            .request(Method::DELETE, &saved_path(id)?)
            .send()
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn results_must_be_a_result_set() {
        assert!(strict_rows(json!({"items": []}), "x").is_err());
        assert_eq!(
            strict_rows(json!({"ResultSet": {"Result": [{"a": "1"}]}}), "x")
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn ids_without_slashes() {
        assert!(validate_search_id("a/b").is_err());
        assert_eq!(validate_search_id(" xs1 ").unwrap(), "xs1");
    }
}
