//! Projects: listing, detail, creation, accessibility, membership and access requests.
//!
//! Every identifier is validated before a request is built, and every path segment goes through
//! `seg`, so a project id can never address a different resource than the one named.

use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::core::client::{seg, XnatClient};
use crate::core::validation::validate_project_id;
use crate::core::{Error, Result};

/// Largest page asked of the server when a listing is read in pages.
pub const PAGE_SIZE: usize = 5000;

/// How much of a listing to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// One request for the whole set (a client-side filter or sort needs every row).
    Whole,
    /// Server-side pages, stopping after `max` rows when given.
    Paged {
        /// Stop after this many rows.
        max: Option<usize>,
    },
}

impl Fetch {
    /// Pages unless a client-side filter or sort needs the whole set.
    pub fn for_controls(needs_full_set: bool, limit: Option<usize>) -> Fetch {
        if needs_full_set {
            Fetch::Whole
        } else {
            Fetch::Paged { max: limit }
        }
    }
}

/// Rows of a `ResultSet` listing, read as `fetch` says.
pub async fn fetch_rows(
    client: &XnatClient,
    path: &str,
    params: &[(&str, &str)],
    fetch: Fetch,
) -> Result<Vec<Map<String, Value>>> {
    match fetch {
        Fetch::Whole => client.list_rows(path, params).await,
        Fetch::Paged { max: Some(0) } => Ok(Vec::new()),
        Fetch::Paged { max } => {
            let page = max.unwrap_or(PAGE_SIZE).min(PAGE_SIZE);
            client
                .paginate(path, params, page, None)
                .take(max.unwrap_or(usize::MAX))
                .try_collect()
                .await
        }
    }
}

/// The text of a cell: strings as they are, other scalars printed, null as empty.
pub fn cell(row: &Map<String, Value>, key: &str) -> String {
    match row.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// One row of `project list`. It serialises under its own names and is read from the
/// server's listing columns (`ID`, `name`, `pi_lastname`, `description`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ProjectWire")]
pub struct ProjectRow {
    /// Project id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// PI last name.
    pub pi: String,
    /// The first 50 characters of the description.
    pub description: String,
}

/// The columns `project list` reads, as the server names them.
#[derive(Debug, Deserialize)]
struct ProjectWire {
    #[serde(rename = "ID", default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    pi_lastname: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

impl From<ProjectWire> for ProjectRow {
    fn from(w: ProjectWire) -> Self {
        ProjectRow {
            id: w.id.unwrap_or_default(),
            name: w.name.unwrap_or_default(),
            pi: w.pi_lastname.unwrap_or_default(),
            description: first_chars(w.description.unwrap_or_default(), 50),
        }
    }
}

/// `s` cut to its first `n` characters, in place.
fn first_chars(mut s: String, n: usize) -> String {
    if let Some((at, _)) = s.char_indices().nth(n) {
        s.truncate(at);
    }
    s
}

/// `GET /data/projects` with the columns the listing shows. The pages are parsed straight into
/// [`ProjectRow`]s (no `serde_json::Value` per row): 10 000 projects cost a few megabytes less and
/// tens of milliseconds less than the generic rows.
pub async fn list(client: &XnatClient, fetch: Fetch) -> Result<Vec<ProjectRow>> {
    const PATH: &str = "/data/projects";
    const PARAMS: &[(&str, &str)] = &[("columns", "ID,name,pi_lastname,description")];
    let from_row = |r: Map<String, Value>| ProjectRow {
        id: cell(&r, "ID"),
        name: cell(&r, "name"),
        pi: cell(&r, "pi_lastname"),
        description: first_chars(cell(&r, "description"), 50),
    };
    let max = match fetch {
        Fetch::Whole => return client.list_page(PATH, PARAMS, None, from_row).await,
        Fetch::Paged { max: Some(0) } => return Ok(Vec::new()),
        Fetch::Paged { max } => max.unwrap_or(usize::MAX),
    };
    // The same walk as `XnatClient::paginate`: stop on a short page, and stop when a server
    // that ignores offset/limit sends the same first row again.
    let page = max.min(PAGE_SIZE);
    let mut rows: Vec<ProjectRow> = Vec::new();
    let mut first_of_last_page: Option<ProjectRow> = None;
    loop {
        let got = client
            .list_page(PATH, PARAMS, Some((rows.len(), page)), from_row)
            .await?;
        if first_of_last_page.is_some() && got.first() == first_of_last_page.as_ref() {
            break;
        }
        let done = got.len() != page;
        first_of_last_page = got.first().cloned();
        rows.extend(got);
        if done || rows.len() >= max {
            break;
        }
    }
    rows.truncate(max);
    Ok(rows)
}

/// `project show`: the detail plus subject and session counts (`"?"` when a count failed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectDetail {
    /// Project id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Secondary id (running title).
    pub secondary_id: String,
    /// PI last name.
    pub pi: String,
    /// Full description.
    pub description: String,
    /// `public`, `protected` or `private`.
    pub accessibility: String,
    /// Number of subjects, or `"?"`.
    pub subjects: Value,
    /// Number of sessions, or `"?"`.
    pub sessions: Value,
}

/// The `data_fields` of the first item of an item document.
pub fn data_fields(doc: &Value) -> Option<&Map<String, Value>> {
    doc.pointer("/items/0/data_fields")
        .and_then(Value::as_object)
        .or_else(|| {
            doc.pointer("/ResultSet/Result/0")
                .and_then(Value::as_object)
        })
}

/// Read one project and count its subjects and sessions.
pub async fn show(client: &XnatClient, project: &str) -> Result<ProjectDetail> {
    let project = validate_project_id(project)?;
    let path = format!("/data/projects/{}", seg(&project)?);
    let doc = client.get_json(&path, &[]).await.map_err(|e| match e {
        Error::NotFound { .. } => Error::not_found("project", &project),
        other => other,
    })?;
    let f = data_fields(&doc).ok_or_else(|| Error::not_found("project", &project))?;
    let count = |rows: Result<Vec<Map<String, Value>>>| match rows {
        Ok(r) => Value::from(r.len()),
        Err(_) => Value::from("?"),
    };
    let subjects = count(client.list_rows(&format!("{path}/subjects"), &[]).await);
    let sessions = count(client.list_rows(&format!("{path}/experiments"), &[]).await);
    let pi = f
        .get("PI/lastname")
        .or_else(|| f.get("pi_lastname"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(ProjectDetail {
        id: cell(f, "ID"),
        name: cell(f, "name"),
        secondary_id: cell(f, "secondary_ID"),
        pi: pi.to_string(),
        description: cell(f, "description"),
        accessibility: cell(f, "accessibility"),
        subjects,
        sessions,
    })
}

/// Escape text for an XML element or a double-quoted attribute.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// What `project create` sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProject {
    /// Project id.
    pub id: String,
    /// Display name (defaults to the id).
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// PI last name.
    pub pi: Option<String>,
    /// `public`, `protected` or `private`.
    pub accessibility: String,
}

impl NewProject {
    /// The `xnat:Project` document, every value escaped.
    pub fn to_xml(&self) -> String {
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xnat:Project ID=\"{}\" xmlns:xnat=\"http://nrg.wustl.edu/xnat\">\n<xnat:name>{}</xnat:name>\n",
            xml_escape(&self.id),
            xml_escape(self.name.as_deref().unwrap_or(&self.id))
        );
        if let Some(d) = self.description.as_deref().filter(|d| !d.is_empty()) {
            xml.push_str(&format!(
                "<xnat:description>{}</xnat:description>\n",
                xml_escape(d)
            ));
        }
        if let Some(pi) = self.pi.as_deref().filter(|p| !p.is_empty()) {
            xml.push_str(&format!(
                "<xnat:PI><xnat:lastname>{}</xnat:lastname></xnat:PI>\n",
                xml_escape(pi)
            ));
        }
        xml.push_str("</xnat:Project>");
        xml
    }
}

/// Check an accessibility level.
pub fn validate_accessibility(level: &str) -> Result<String> {
    let l = level.trim().to_ascii_lowercase();
    match l.as_str() {
        "public" | "protected" | "private" => Ok(l),
        _ => Err(Error::usage(format!(
            "invalid accessibility '{level}': expected public, protected or private"
        ))),
    }
}

/// `POST /data/projects/{P}?accessibility=A` with the XML document.
pub async fn create(client: &XnatClient, new: &NewProject) -> Result<()> {
    let id = validate_project_id(&new.id)?;
    let access = validate_accessibility(&new.accessibility)?;
    // XNAT answers a create on an existing ID by silently rewriting that project's name, PI and
    // description; refuse instead of clobbering someone's project.
    match client
        .get(
            &format!("/data/projects/{}", seg(&id)?),
            &[("format", "json")],
        )
        .await
    {
        Ok(_) => {
            return Err(Error::AlreadyExists {
                kind: "project".into(),
                id,
            })
        }
        Err(Error::NotFound { .. }) => {}
        Err(e) => return Err(e),
    }
    let resp = client
        .request(Method::POST, &format!("/data/projects/{}", seg(&id)?))
        .query("accessibility", access)
        .bytes(new.to_xml(), "text/xml")
        .send()
        .await
        .map_err(|e| match e {
            Error::Http { status: 409, .. } => Error::AlreadyExists {
                kind: "project".into(),
                id: id.clone(),
            },
            other => other,
        })?;
    let status = resp.status().as_u16();
    if status != 200 && status != 201 {
        let text = resp.text().await.unwrap_or_default();
        return Err(Error::Operation(format!(
            "failed to create project {id}: HTTP {status} {}",
            text.trim()
        )));
    }
    Ok(())
}

/// `project access` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    /// Project id.
    pub project: String,
    /// Its accessibility level.
    pub accessibility: String,
}

/// `GET /data/projects/{P}/accessibility`.
pub async fn get_access(client: &XnatClient, project: &str) -> Result<Access> {
    let project = validate_project_id(project)?;
    let text = client
        .get_text(
            &format!("/data/projects/{}/accessibility", seg(&project)?),
            &[],
        )
        .await
        .map_err(|e| e.naming_not_found("project", &project))?;
    Ok(Access {
        project,
        accessibility: text.trim().to_string(),
    })
}

/// `PUT /data/projects/{P}/accessibility/{level}`.
pub async fn set_access(client: &XnatClient, project: &str, level: &str) -> Result<()> {
    let project = validate_project_id(project)?;
    let level = validate_accessibility(level)?;
    client
        .put(
            &format!(
                "/data/projects/{}/accessibility/{}",
                seg(&project)?,
                seg(&level)?
            ),
            &[],
        )
        .await?;
    Ok(())
}

/// One row of `project users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectUser {
    /// Login name as the server spells it.
    pub username: String,
    /// Role (`owner`, `member`, `collaborator`).
    pub role: String,
    /// E-mail address.
    pub email: String,
    /// The group id (`P_member`); not shown.
    #[serde(skip)]
    pub group_id: String,
}

fn first_of(row: &Map<String, Value>, keys: &[&str]) -> String {
    keys.iter()
        .map(|k| cell(row, k))
        .find(|v| !v.is_empty())
        .unwrap_or_default()
}

/// `GET /data/projects/{P}/users`.
pub async fn users(client: &XnatClient, project: &str) -> Result<Vec<ProjectUser>> {
    let project = validate_project_id(project)?;
    let rows = client
        .list_rows(&format!("/data/projects/{}/users", seg(&project)?), &[])
        .await
        .map_err(|e| e.naming_not_found("project", &project))?;
    let prefix = format!("{project}_");
    Ok(rows
        .iter()
        .map(|r| {
            let group_id = first_of(r, &["GROUP_ID", "groupname", "group"]);
            let role = group_id
                .strip_prefix(&prefix)
                .unwrap_or(&group_id)
                .to_string();
            ProjectUser {
                username: first_of(r, &["login", "username", "ID"]),
                role,
                email: cell(r, "email"),
                group_id,
            }
        })
        .collect())
}

/// Check a project role.
pub fn validate_role(role: &str) -> Result<String> {
    let r = role.trim().to_ascii_lowercase();
    match r.as_str() {
        "owner" | "member" | "collaborator" => Ok(r),
        _ => Err(Error::usage(format!(
            "invalid role '{role}': expected owner, member or collaborator"
        ))),
    }
}

/// Check a user login used in a path.
pub fn validate_login(user: &str) -> Result<String> {
    let u = user.trim();
    if u.is_empty() || u.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        return Err(Error::invalid_id(
            "user",
            user,
            "must be a non-empty login without slashes",
        ));
    }
    Ok(u.to_string())
}

/// `PUT /data/projects/{P}/users/{P}_{role}/{USER}`.
pub async fn grant(client: &XnatClient, project: &str, user: &str, role: &str) -> Result<()> {
    let project = validate_project_id(project)?;
    let user = validate_login(user)?;
    let role = validate_role(role)?;
    client
        .put(
            &format!(
                "/data/projects/{}/users/{}/{}",
                seg(&project)?,
                seg(&format!("{project}_{role}"))?,
                seg(&user)?
            ),
            &[],
        )
        .await?;
    Ok(())
}

/// The memberships `revoke` would remove: the server's login and the roles it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The login as the server spells it.
    pub login: String,
    /// Group ids (`P_member`), unique, in listing order.
    pub groups: Vec<String>,
    /// The roles (group ids without the project prefix).
    pub roles: Vec<String>,
}

/// Find a user's memberships (login compared case-insensitively).
pub async fn membership(client: &XnatClient, project: &str, user: &str) -> Result<Membership> {
    let user = validate_login(user)?;
    let rows = users(client, project).await?;
    let matches: Vec<&ProjectUser> = rows
        .iter()
        .filter(|u| u.username.eq_ignore_ascii_case(&user))
        .collect();
    if matches.is_empty() {
        return Err(Error::not_found(
            "project user",
            format!("{project}/{user}"),
        ));
    }
    let mut m = Membership {
        login: matches[0].username.clone(),
        groups: Vec::new(),
        roles: Vec::new(),
    };
    for u in matches {
        if u.group_id.is_empty() {
            return Err(Error::InvalidInput(format!(
                "the server listed {} in {project} without a group id; nothing was revoked",
                u.username
            )));
        }
        if !m.groups.contains(&u.group_id) {
            m.groups.push(u.group_id.clone());
            m.roles.push(u.role.clone());
        }
    }
    Ok(m)
}

/// `DELETE /data/projects/{P}/users/{GROUP}/{login}` for every group, with the server's casing.
pub async fn revoke(client: &XnatClient, project: &str, m: &Membership) -> Result<()> {
    let project = validate_project_id(project)?;
    for g in &m.groups {
        client
            .delete(
                &format!(
                    "/data/projects/{}/users/{}/{}",
                    seg(&project)?,
                    seg(g)?,
                    seg(&m.login)?
                ),
                &[],
            )
            .await?;
    }
    Ok(())
}

/// `GET /data/projects/{P}/pars`: the raw access-request rows.
pub async fn requests(client: &XnatClient, project: &str) -> Result<Vec<Map<String, Value>>> {
    let project = validate_project_id(project)?;
    client
        .list_rows(&format!("/data/projects/{}/pars", seg(&project)?), &[])
        .await
        .map_err(|e| e.naming_not_found("project", &project))
}

#[cfg(test)]
mod tests;
