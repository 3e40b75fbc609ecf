//! Who may see a project: its accessibility, its members and roles, and access requests.

use crate::core::output::{Item, Row};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::{seg, XnatClient};
use crate::core::validation::validate_project_id;
use crate::core::{Error, Result};

use super::detail::validate_accessibility;
use super::listing::cell;

/// `project access` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    /// Project id.
    pub project: String,
    /// Its accessibility level.
    pub accessibility: String,
}

impl Item for Access {
    const ID: &'static str = "project";
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

impl Row for ProjectUser {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("username", "Username"),
        ("role", "Role"),
        ("email", "Email"),
    ];
    const ID: &'static str = "username";
}

/// One row of `project requests`: the server's access-request row as it comes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct AccessRequest(pub Map<String, Value>);

impl Row for AccessRequest {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("par_id", "ID"),
        ("login", "Approver"),
        ("email", "Requester Email"),
        ("level", "Level"),
        ("create_date", "Requested"),
        ("approved", "Approved"),
    ];
    const ID: &'static str = "par_id";
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
pub async fn requests(client: &XnatClient, project: &str) -> Result<Vec<AccessRequest>> {
    let project = validate_project_id(project)?;
    let rows = client
        .list_rows(&format!("/data/projects/{}/pars", seg(&project)?), &[])
        .await
        .map_err(|e| e.naming_not_found("project", &project))?;
    Ok(rows.into_iter().map(AccessRequest).collect())
}
