//! DicomEdit anonymization scripts (`/xapi/anonymize/...`): what `anon` reads and changes, at
//! site scope or for one project.
//!
//! A project's override script is the config-service entry tool `anon`, path `projects/{P}`.
//! XNAT's XAPI hides a disabled script (`GET /xapi/anonymize/projects/P` answers 204 for "none"
//! and for "disabled" alike), so "never set" and "disabled" are told apart by the config
//! service listing `GET /data/projects/P/config/anon` (404 = never set), as the reference does.

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use crate::core::client::{seg, XnatClient};
use crate::core::output::Item;
use crate::core::validation::validate_project_id;
use crate::core::{Error, Result};

/// Which script: the site-wide one or a project's override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The site-wide script.
    Site,
    /// A project's override script (a validated project id).
    Project(String),
}

impl Scope {
    /// Site scope, or a project scope after the strict id check (exit 1 on a bad id).
    pub fn of(project: Option<&str>) -> Result<Scope> {
        match project {
            None => Ok(Scope::Site),
            Some(p) => Ok(Scope::Project(validate_project_id(p)?)),
        }
    }

    /// The project id, if project scope.
    pub fn project(&self) -> Option<&str> {
        match self {
            Scope::Site => None,
            Scope::Project(p) => Some(p),
        }
    }

    /// How messages name the script: `site-wide` or `project P's override`.
    pub fn label(&self) -> String {
        match self {
            Scope::Site => "site-wide".to_string(),
            Scope::Project(p) => format!("project {p}'s override"),
        }
    }

    fn base(&self) -> Result<String> {
        Ok(match self {
            Scope::Site => "/xapi/anonymize/site".to_string(),
            Scope::Project(p) => format!("/xapi/anonymize/projects/{}", seg(p)?),
        })
    }
}

/// `anon show`: the reference's record (`project` is null at site scope; `script` is `""` when
/// the project has no active override).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnonScript {
    /// `site` or the project id.
    pub id: String,
    /// `site` or `project`.
    pub scope: String,
    /// The project id, or null.
    pub project: Option<String>,
    /// Whether the script is applied.
    pub enabled: bool,
    /// The script text.
    pub script: String,
}

impl Item for AnonScript {
    const ID: &'static str = "id";
    const LABELS: &'static [(&'static str, &'static str)] = &[("id", "ID")];
}

/// What a project without an active override has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Override {
    /// A script is stored but disabled.
    Disabled,
    /// No script was ever set.
    NeverSet,
}

/// `anon show` result: the record plus, for a project without an active script, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The record printed.
    pub script: AnonScript,
    /// Set when a project has no active override.
    pub inactive: Option<Override>,
}

/// `GET /data/projects/P?format=json`: 404 → `project not found: P` (exit 5).
pub async fn ensure_project(client: &XnatClient, project: &str) -> Result<()> {
    let path = format!("/data/projects/{}", seg(project)?);
    client
        .get_json(&path, &[])
        .await
        .map_err(|e| not_found_as(e, "project", project))?;
    Ok(())
}

fn not_found_as(e: Error, kind: &str, id: &str) -> Error {
    match e {
        Error::NotFound { .. } => Error::not_found(kind, id),
        other => other,
    }
}

/// Whether the project has an `anon` config at all, enabled or not
/// (`GET /data/projects/P/config/anon`: 404 = never set).
pub async fn project_has_config(client: &XnatClient, project: &str) -> Result<bool> {
    let path = format!("/data/projects/{}/config/anon", seg(project)?);
    match client.get_json(&path, &[]).await {
        Ok(_) => Ok(true),
        Err(Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The current script text (`""` when a project has none, or it is disabled).
pub async fn current_script(client: &XnatClient, scope: &Scope) -> Result<String> {
    if let Scope::Project(p) = scope {
        ensure_project(client, p).await?;
    }
    let text = client.get_text(&scope.base()?, &[]).await;
    match (text, scope) {
        (Ok(t), _) => Ok(t),
        (Err(e), Scope::Project(p)) => Err(not_found_as(e, "project", p)),
        (Err(e), Scope::Site) => Err(e),
    }
}

/// `GET .../enabled?format=json` (a JSON boolean).
pub async fn is_enabled(client: &XnatClient, scope: &Scope) -> Result<bool> {
    let v = client
        .get_json(&format!("{}/enabled", scope.base()?), &[])
        .await?;
    match v {
        Value::Bool(b) => Ok(b),
        Value::String(s) => Ok(s.eq_ignore_ascii_case("true")),
        other => Err(Error::Operation(format!(
            "the server's anonymization status is not a boolean: {other}"
        ))),
    }
}

/// `anon show`.
pub async fn show(client: &XnatClient, scope: &Scope) -> Result<Shown> {
    match scope {
        Scope::Site => {
            let enabled = is_enabled(client, scope).await?;
            let script = current_script(client, scope).await?;
            Ok(Shown {
                script: AnonScript {
                    id: "site".into(),
                    scope: "site".into(),
                    project: None,
                    enabled,
                    script,
                },
                inactive: None,
            })
        }
        Scope::Project(p) => {
            let script = current_script(client, scope).await?;
            let inactive = if script.trim().is_empty() {
                Some(if project_has_config(client, p).await? {
                    Override::Disabled
                } else {
                    Override::NeverSet
                })
            } else {
                None
            };
            let enabled = is_enabled(client, scope).await?;
            Ok(Shown {
                script: AnonScript {
                    id: p.clone(),
                    scope: "project".into(),
                    project: Some(p.clone()),
                    enabled,
                    script,
                },
                inactive,
            })
        }
    }
}

/// Read a script file: UTF-8 text, not empty (exit 1 otherwise, before any request).
pub fn read_script_text(bytes: Vec<u8>, src: &str) -> Result<String> {
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::InvalidInput(format!("{src}: the script is not UTF-8 text")))?;
    if text.trim().is_empty() {
        return Err(Error::InvalidInput(format!("{src}: the script is empty")));
    }
    Ok(text)
}

/// `PUT /xapi/anonymize/site` or `/projects/P`, `text/plain` body.
pub async fn set_script(client: &XnatClient, scope: &Scope, script: &str) -> Result<()> {
    if let Scope::Project(p) = scope {
        ensure_project(client, p).await?;
    }
    client
        .request(Method::PUT, &scope.base()?)
        .bytes(script.as_bytes().to_vec(), "text/plain; charset=utf-8")
        .send()
        .await?;
    Ok(())
}

/// A project must have a stored script before it can be enabled or disabled (exit 1).
pub async fn require_project_script(client: &XnatClient, project: &str) -> Result<()> {
    ensure_project(client, project).await?;
    if project_has_config(client, project).await? {
        return Ok(());
    }
    Err(Error::Operation(format!(
        "Project '{project}' has no anonymization script set. Run `anon set -P {project} FILE` first, \
         then enable it."
    )))
}

/// `PUT .../enabled?enable=true|false`, body `null`, `application/json` (the server reads only
/// the query parameter).
pub async fn set_enabled(client: &XnatClient, scope: &Scope, on: bool) -> Result<()> {
    client
        .request(Method::PUT, &format!("{}/enabled", scope.base()?))
        .query("enable", if on { "true" } else { "false" })
        .bytes(b"null".to_vec(), "application/json")
        .send()
        .await?;
    Ok(())
}

/// A unified diff of two script texts with the reference's headers, or `(no changes)`.
pub fn script_diff(label: &str, current: &str, new: &str) -> String {
    if current == new {
        return "(no changes)".to_string();
    }
    similar::TextDiff::from_lines(current, new)
        .unified_diff()
        .header(
            &format!("{label} anonymization script (current)"),
            &format!("{label} anonymization script (new)"),
        )
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_must_be_non_empty_utf8() {
        assert!(read_script_text(vec![0xff, 0xfe], "f").is_err());
        assert!(read_script_text(b"  \n".to_vec(), "f").is_err());
        assert_eq!(read_script_text(b"a\n".to_vec(), "f").unwrap(), "a\n");
    }

    #[test]
    fn diff_names_both_sides() {
        let d = script_diff("site-wide", "a\n", "b\n");
        assert!(
            d.contains("--- site-wide anonymization script (current)"),
            "{d}"
        );
        assert!(d.contains("-a\n+b\n"), "{d}");
        assert_eq!(script_diff("x", "a", "a"), "(no changes)");
    }

    #[test]
    fn project_ids_are_strict() {
        assert!(Scope::of(Some("a/b")).is_err());
        assert_eq!(Scope::of(None).unwrap(), Scope::Site);
    }
}
