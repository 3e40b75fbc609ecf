//! The Container Service's commands and their wrappers (`/xapi/commands`, `/xapi/wrappers`): what
//! `command` and `wrapper` list and change.
//!
//! Wrappers live inside each command's `xnat` array; there is no wrapper listing endpoint. The
//! plugin addresses a wrapper by id under `/xapi/wrappers/{id}` and by *name* under
//! `/xapi/commands/{id}/wrappers/{name}`, so every call here uses the id forms (the reference
//! puts a wrapper id where the plugin expects a name; see docs/differences-from-python.md).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::{seg, XnatClient};
use crate::core::output::{Item, Row};
use crate::core::{Error, Result};

/// One command as the server sends it, plus `wrapper_count` (as the reference adds it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Command(pub Map<String, Value>);

impl Command {
    /// The command id (0 when missing).
    pub fn id(&self) -> u64 {
        self.0.get("id").and_then(Value::as_u64).unwrap_or(0)
    }

    /// Its wrappers, each with `command-id` added (an error when `xnat` is not a list of
    /// objects).
    pub fn wrappers(&self) -> Result<Vec<Wrapper>> {
        let items = match self.0.get("xnat") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(unexpected_xnat(self.id(), other)),
        };
        items
            .iter()
            .map(|w| match w {
                Value::Object(m) => {
                    let mut m = m.clone();
                    m.insert("command-id".into(), Value::from(self.id()));
                    Ok(Wrapper(m))
                }
                other => Err(unexpected_xnat(self.id(), other)),
            })
            .collect()
    }
}

fn unexpected_xnat(id: u64, value: &Value) -> Error {
    Error::Operation(format!(
        "Unexpected 'xnat' field on command {id}: expected a list of wrapper objects, got {}",
        crate::core::error::snippet(&value.to_string(), 80)
    ))
}

impl Row for Command {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "ID"),
        ("name", "Name"),
        ("image", "Image"),
        ("version", "Version"),
        ("wrapper_count", "Wrappers"),
    ];
    const ID: &'static str = "id";
}

impl Item for Command {
    const ID: &'static str = "id";
}

/// One wrapper (an entry of a command's `xnat` array) with `command-id` added.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Wrapper(pub Map<String, Value>);

impl Wrapper {
    /// The wrapper id (0 when missing).
    pub fn id(&self) -> u64 {
        self.0.get("id").and_then(Value::as_u64).unwrap_or(0)
    }
    /// The wrapper name.
    pub fn name(&self) -> &str {
        self.0.get("name").and_then(Value::as_str).unwrap_or("")
    }
    /// The command it belongs to.
    pub fn command_id(&self) -> u64 {
        self.0
            .get("command-id")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }
}

impl Row for Wrapper {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "ID"),
        ("name", "Name"),
        ("command-id", "Command ID"),
        ("contexts", "Contexts"),
    ];
    const ID: &'static str = "id";
}

/// What `command create` prints: the new command's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Registered {
    /// The id the server gave the command.
    pub id: u64,
}

impl Item for Registered {
    const ID: &'static str = "id";
    const LABELS: &'static [(&'static str, &'static str)] = &[("id", "ID")];
}

/// A wrapper's configuration (`{"inputs": {...}, "outputs": {...}}`), printed as the server
/// sends it. It has no id: `-q` prints nothing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct WrapperConfig(pub Map<String, Value>);

impl Item for WrapperConfig {
    const ID: &'static str = "id";
}

fn array(v: Value, path: &str) -> Result<Vec<Map<String, Value>>> {
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|i| object(i, path))
            .collect::<Result<Vec<_>>>(),
        other => Err(shape(path, "array", &other)),
    }
}

fn object(v: Value, path: &str) -> Result<Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(shape(path, "object", &other)),
    }
}

fn shape(path: &str, want: &str, got: &Value) -> Error {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    Error::Operation(format!(
        "Unexpected response from GET {path}: expected a JSON {want}, got {kind}."
    ))
}

/// `GET /xapi/commands`, each with `wrapper_count`.
pub async fn list(client: &XnatClient) -> Result<Vec<Command>> {
    let rows = array(
        client.get_json("/xapi/commands", &[]).await?,
        "/xapi/commands",
    )?;
    rows.into_iter()
        .map(|m| {
            let mut c = Command(m);
            let n = c.wrappers()?.len();
            c.0.insert("wrapper_count".into(), Value::from(n));
            Ok(c)
        })
        .collect()
}

/// `GET /xapi/commands/{id}`; 404 → `command not found: ID` (exit 5).
pub async fn show(client: &XnatClient, id: u64) -> Result<Command> {
    let path = format!("/xapi/commands/{id}");
    let v = client.get_json(&path, &[]).await.map_err(|e| match e {
        Error::NotFound { .. } => Error::not_found("command", id.to_string()),
        other => other,
    })?;
    Ok(Command(object(v, &path)?))
}

/// `POST /xapi/commands` (201, the body is the new id).
pub async fn create(client: &XnatClient, command: &Map<String, Value>) -> Result<u64> {
    let text = client
        .request(reqwest::Method::POST, "/xapi/commands")
        .json(&Value::Object(command.clone()))
        .read()
        .await?;
    let text = String::from_utf8_lossy(&text);
    text.trim().parse::<u64>().map_err(|_| {
        Error::Operation(format!(
            "Unexpected response from POST /xapi/commands: expected the new command id, got {}",
            crate::core::error::snippet(text.trim(), 80)
        ))
    })
}

/// The body that replaces `current` by `new`: the whole new definition, its wrappers keeping an
/// `id` only when it is one of the current command's wrappers and not already used earlier in
/// the list (a copied id of another command's wrapper would make the server refuse the update;
/// a wrapper without id is created). Wrappers left out are deleted by the server.
pub fn update_body(current: &Command, new: &Map<String, Value>) -> Map<String, Value> {
    let own: Vec<u64> = current
        .wrappers()
        .unwrap_or_default()
        .iter()
        .map(Wrapper::id)
        .collect();
    let mut body = new.clone();
    body.insert("id".into(), Value::from(current.id()));
    if let Some(Value::Array(items)) = body.get_mut("xnat") {
        let mut kept = Vec::new();
        for w in items.iter_mut().filter_map(Value::as_object_mut) {
            match w.get("id").and_then(Value::as_u64) {
                Some(id) if own.contains(&id) && !kept.contains(&id) => kept.push(id),
                _ => {
                    w.remove("id");
                }
            }
        }
    }
    body
}

/// `POST /xapi/commands/{id}` with the whole definition.
pub async fn update(client: &XnatClient, id: u64, body: &Map<String, Value>) -> Result<()> {
    client
        .request(reqwest::Method::POST, &format!("/xapi/commands/{id}"))
        .json(&Value::Object(body.clone()))
        .send()
        .await?;
    Ok(())
}

/// `DELETE /xapi/commands/{id}` (204).
pub async fn delete(client: &XnatClient, id: u64) -> Result<()> {
    client.delete(&format!("/xapi/commands/{id}"), &[]).await?;
    Ok(())
}

/// Every wrapper of every command, or of command `only` (unknown → `command not found`).
pub async fn wrappers(client: &XnatClient, only: Option<u64>) -> Result<Vec<Wrapper>> {
    let commands = list(client).await?;
    if let Some(cid) = only {
        if !commands.iter().any(|c| c.id() == cid) {
            return Err(Error::not_found("command", cid.to_string()));
        }
    }
    let mut out = Vec::new();
    for c in commands
        .iter()
        .filter(|c| only.is_none_or(|id| c.id() == id))
    {
        out.extend(c.wrappers()?);
    }
    Ok(out)
}

/// The wrapper `wrapper` (id, or name) of command `cid`; unknown → exit 5 listing the
/// command's wrappers.
pub async fn wrapper_of(client: &XnatClient, cid: u64, wrapper: &str) -> Result<Wrapper> {
    let all = wrappers(client, Some(cid)).await?;
    pick(&all, wrapper, Some(cid))
}

/// Resolve a wrapper reference site-wide: all digits → id, else name; a name on several
/// commands is ambiguous (exit 1, the candidates listed); unknown → exit 5 listing the
/// available wrappers.
pub async fn resolve(client: &XnatClient, wrapper: &str) -> Result<Wrapper> {
    let all = wrappers(client, None).await?;
    pick(&all, wrapper, None)
}

fn pick(all: &[Wrapper], wanted: &str, cid: Option<u64>) -> Result<Wrapper> {
    let by_id = wanted
        .parse::<u64>()
        .ok()
        .and_then(|id| all.iter().find(|w| w.id() == id));
    if let Some(w) = by_id {
        return Ok(w.clone());
    }
    let named: Vec<&Wrapper> = all.iter().filter(|w| w.name() == wanted).collect();
    match named.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let known = all
                .iter()
                .map(|w| format!("{} ({}, command {})", w.id(), w.name(), w.command_id()))
                .collect::<Vec<_>>();
            let available = if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            };
            let scope = cid.map(|c| format!(" on command {c}")).unwrap_or_default();
            Err(Error::NotFound {
                kind: "wrapper".into(),
                id: format!("{wanted}{scope} (available: {available})"),
            })
        }
        many => Err(Error::InvalidInput(format!(
            "wrapper name '{wanted}' is on several commands; use its id: {}",
            many.iter()
                .map(|w| format!("{} (command {})", w.id(), w.command_id()))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// `GET /data/projects/{p}`: 404 → `project not found: P` (exit 5).
pub async fn ensure_project(client: &XnatClient, project: &str) -> Result<()> {
    client
        .get_json(&format!("/data/projects/{}", seg(project)?), &[])
        .await
        .map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found("project", project),
            other => other,
        })?;
    Ok(())
}

/// Where a wrapper setting applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Site-wide.
    Site,
    /// One project.
    Project(String),
}

impl Scope {
    /// `-P P` → that project, none → site-wide.
    pub fn of(project: Option<&str>) -> Scope {
        match project {
            Some(p) => Scope::Project(p.to_string()),
            None => Scope::Site,
        }
    }

    /// The project, for a project scope.
    pub fn project(&self) -> Option<&str> {
        match self {
            Scope::Site => None,
            Scope::Project(p) => Some(p),
        }
    }

    /// `site-wide` or `project P`, as messages say it.
    pub fn label(&self) -> String {
        match self {
            Scope::Site => "site-wide".into(),
            Scope::Project(p) => format!("project {p}"),
        }
    }

    fn base(&self, wid: u64) -> Result<String> {
        Ok(match self {
            Scope::Site => format!("/xapi/wrappers/{wid}"),
            Scope::Project(p) => format!("/xapi/projects/{}/wrappers/{wid}", seg(p)?),
        })
    }
}

/// Whether the wrapper is enabled in `scope`: site `GET /xapi/wrappers/{id}/enabled` (a bare
/// boolean), project `GET /xapi/projects/{p}/wrappers/{id}/enabled` (`enabled-for-project`).
pub async fn is_enabled(client: &XnatClient, scope: &Scope, wid: u64) -> Result<bool> {
    let v = client
        .get_json(&format!("{}/enabled", scope.base(wid)?), &[])
        .await?;
    Ok(match (scope, &v) {
        (Scope::Site, Value::Bool(b)) => *b,
        (Scope::Project(_), Value::Object(m)) => m
            .get("enabled-for-project")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        (_, Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    })
}

/// `PUT {scope}/wrappers/{id}/enabled|disabled`.
pub async fn set_enabled(client: &XnatClient, scope: &Scope, wid: u64, on: bool) -> Result<()> {
    let verb = if on { "enabled" } else { "disabled" };
    client
        .put(&format!("{}/{verb}", scope.base(wid)?), &[])
        .await?;
    Ok(())
}

/// `GET {scope}/wrappers/{id}/config`; 404 → `wrapper config not found` (exit 5).
pub async fn config(client: &XnatClient, scope: &Scope, wid: u64) -> Result<WrapperConfig> {
    let path = format!("{}/config", scope.base(wid)?);
    let v = client.get_json(&path, &[]).await.map_err(|e| match e {
        Error::NotFound { .. } => Error::not_found("wrapper config", wid.to_string()),
        other => other,
    })?;
    Ok(WrapperConfig(object(v, &path)?))
}

/// `POST {scope}/wrappers/{id}/config?enable=<enabled>`. The plugin enables the wrapper on
/// every configuration write unless `enable=false` is sent, so the caller passes the current
/// state to keep it.
pub async fn set_config(
    client: &XnatClient,
    scope: &Scope,
    wid: u64,
    config: &Map<String, Value>,
    enabled: bool,
) -> Result<()> {
    client
        .request(
            reqwest::Method::POST,
            &format!("{}/config", scope.base(wid)?),
        )
        .query("enable", enabled.to_string())
        .json(&Value::Object(config.clone()))
        .send()
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn command(v: Value) -> Command {
        Command(v.as_object().unwrap().clone())
    }

    #[test]
    fn update_keeps_own_wrapper_ids_once_and_strips_the_rest() {
        let current =
            command(json!({"id": 3, "xnat": [{"id": 7, "name": "a"}, {"id": 8, "name": "b"}]}));
        let new = json!({"name": "c", "xnat": [
            {"id": 7, "name": "a2"}, {"id": 7, "name": "dup"}, {"id": 99, "name": "stale"}, {"name": "new"}
        ]});
        let body = update_body(&current, new.as_object().unwrap());
        assert_eq!(
            Value::Object(body),
            json!({"name": "c", "xnat": [
                {"id": 7, "name": "a2"}, {"name": "dup"}, {"name": "stale"}, {"name": "new"}
            ], "id": 3})
        );
    }

    #[test]
    fn wrapper_references_resolve_by_id_then_name_and_list_what_exists() {
        let c = command(json!({"id": 1, "xnat": [{"id": 5, "name": "dcm2nii"}]}));
        let d = command(
            json!({"id": 2, "xnat": [{"id": 6, "name": "dcm2nii"}, {"id": 9, "name": "qc"}]}),
        );
        let all: Vec<Wrapper> = [c, d].iter().flat_map(|c| c.wrappers().unwrap()).collect();
        assert_eq!(pick(&all, "9", None).unwrap().name(), "qc");
        assert_eq!(pick(&all, "qc", None).unwrap().command_id(), 2);
        let amb = pick(&all, "dcm2nii", None).unwrap_err();
        assert_eq!(amb.exit_code(), 1);
        assert!(
            amb.to_string().contains("5 (command 1), 6 (command 2)"),
            "{amb}"
        );
        let none = pick(&all, "nope", None).unwrap_err();
        assert_eq!(none.exit_code(), 5);
        assert_eq!(
            none.to_string(),
            "wrapper not found: nope (available: 5 (dcm2nii, command 1), 6 (dcm2nii, command 2), 9 (qc, command 2))"
        );
    }

    #[test]
    fn a_non_list_xnat_field_is_an_error() {
        let c = command(json!({"id": 4, "xnat": {"name": "x"}}));
        assert!(c
            .wrappers()
            .unwrap_err()
            .to_string()
            .starts_with("Unexpected 'xnat' field on command 4"));
        assert!(command(json!({"id": 4, "xnat": null}))
            .wrappers()
            .unwrap()
            .is_empty());
    }
}
