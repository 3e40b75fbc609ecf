//! Site users (`/xapi/users...`): what `admin user` reads and changes.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::{seg, XnatClient};
use crate::core::output::{Item, Report, Row};
use crate::core::{Error, Result};

/// One row of `admin user list`: the reference's five fields (missing ones are `""`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRow {
    /// `username` (or `login`, `ID`).
    pub username: Value,
    /// E-mail address.
    pub email: Value,
    /// Whether the account is enabled (as the server typed it).
    pub enabled: Value,
    /// Whether the e-mail is verified (as the server typed it).
    pub verified: Value,
    /// `lastLogin`, `last_login` or `lastSuccessfulLogin`.
    pub last_login: Value,
}

impl Row for UserRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("username", "Username"),
        ("email", "Email"),
        ("enabled", "Enabled"),
        ("verified", "Verified"),
        ("last_login", "Last Login"),
    ];
    const ID: &'static str = "username";
}

fn first(m: &Map<String, Value>, keys: &[&str]) -> Value {
    keys.iter()
        .find_map(|k| m.get(*k).filter(|v| !v.is_null()).cloned())
        .unwrap_or_else(|| Value::from(""))
}

fn user_row(m: &Map<String, Value>) -> UserRow {
    UserRow {
        username: first(m, &["username", "login", "ID"]),
        email: first(m, &["email"]),
        enabled: first(m, &["enabled"]),
        verified: first(m, &["verified"]),
        last_login: first(m, &["lastLogin", "last_login", "lastSuccessfulLogin"]),
    }
}

/// Rows from an array of users, or an object keyed by username (`/xapi/users/active`).
fn user_rows(v: Value) -> Vec<UserRow> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_object)
            .map(user_row)
            .collect(),
        Value::Object(m) => m
            .into_iter()
            .map(|(name, v)| {
                let mut row = v.as_object().cloned().unwrap_or_default();
                row.entry("username").or_insert(Value::from(name));
                user_row(&row)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Every user (`/xapi/users/profiles`), or with `active` only those with live sessions
/// (`/xapi/users/active`). Admins only (403 → exit 6).
pub async fn list(client: &XnatClient, active: bool) -> Result<Vec<UserRow>> {
    let path = if active {
        "/xapi/users/active"
    } else {
        "/xapi/users/profiles"
    };
    Ok(user_rows(client.get_json(path, &[]).await?))
}

/// One user's XAPI document, as sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct UserInfo(pub Map<String, Value>);

impl Item for UserInfo {
    const ID: &'static str = "username";
}

fn user_path(username: &str, tail: &str) -> Result<String> {
    Ok(format!("/xapi/users/{}{tail}", seg(username)?))
}

/// `GET /xapi/users/<u>`: unknown user → exit 5.
pub async fn show(client: &XnatClient, username: &str) -> Result<UserInfo> {
    match client.get_json(&user_path(username, "")?, &[]).await? {
        Value::Object(m) if !m.is_empty() => Ok(UserInfo(m)),
        _ => Err(Error::not_found("user", username)),
    }
}

/// One group a user belongs to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    /// Group id (`P_owner`, `ALL_DATA_ADMIN`, ...).
    pub group: String,
}

impl Row for GroupRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[("group", "Group")];
    const ID: &'static str = "group";
}

/// One site role a user holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleRow {
    /// Role name (`Administrator`, `non_expiring`, ...).
    pub role: String,
}

impl Row for RoleRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[("role", "Role")];
    const ID: &'static str = "role";
}

async fn strings(client: &XnatClient, path: &str) -> Result<Vec<String>> {
    Ok(match client.get_json(path, &[]).await? {
        Value::Array(a) => a
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// `GET /xapi/users/<u>/groups`.
pub async fn groups(client: &XnatClient, username: &str) -> Result<Vec<GroupRow>> {
    let names = strings(client, &user_path(username, "/groups")?).await?;
    Ok(names.into_iter().map(|group| GroupRow { group }).collect())
}

/// `GET /xapi/users/<u>/roles`.
pub async fn roles(client: &XnatClient, username: &str) -> Result<Vec<RoleRow>> {
    let names = strings(client, &user_path(username, "/roles")?).await?;
    Ok(names.into_iter().map(|role| RoleRow { role }).collect())
}

/// `PUT /xapi/users/<u>/enabled/true|false` (admins only).
pub async fn set_enabled(client: &XnatClient, username: &str, enabled: bool) -> Result<()> {
    let path = user_path(username, &format!("/enabled/{enabled}"))?;
    client.put(&path, &[]).await?;
    Ok(())
}

/// What `kill_sessions` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KilledSessions {
    /// The server ended the user's sessions (200 with the ids it invalidated).
    Ended,
    /// The user had no active session, so nothing was done: XNAT's `UsersApi.invalidateUser`
    /// answers 304 Not Modified ("Indicated user has no active sessions, so no action was taken").
    NoneActive,
}

/// `DELETE /xapi/users/active/<u>`: end every live session of the user.
pub async fn kill_sessions(client: &XnatClient, username: &str) -> Result<KilledSessions> {
    let path = format!("/xapi/users/active/{}", seg(username)?);
    let resp = client.delete(&path, &[]).await?;
    Ok(match resp.status().as_u16() {
        304 => KilledSessions::NoneActive,
        _ => KilledSessions::Ended,
    })
}

/// `PUT` (grant) or `DELETE` (revoke) `/xapi/users/<u>/roles/<role>` (admins only).
pub async fn change_role(
    client: &XnatClient,
    username: &str,
    role: &str,
    grant: bool,
) -> Result<()> {
    let path = user_path(username, &format!("/roles/{}", seg(role)?))?;
    if grant {
        client.put(&path, &[]).await?;
    } else {
        client.delete(&path, &[]).await?;
    }
    Ok(())
}

/// What `admin user add` did: the groups joined and those the server refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupsAdded {
    /// The user.
    pub username: String,
    /// Groups the user was added to.
    pub added: Vec<String>,
    /// Groups the server could not add the user to.
    pub failed: Vec<String>,
}

impl Report for GroupsAdded {
    type Row = GroupRow;
    fn rows(&self) -> Vec<GroupRow> {
        self.added
            .iter()
            .map(|g| GroupRow { group: g.clone() })
            .collect()
    }
}

/// `PUT /xapi/users/<u>/groups` with the group ids as a JSON array: 200 means all were added,
/// 202 carries the list of those that failed (an empty 202 body: all failed).
pub async fn add_to_groups(
    client: &XnatClient,
    username: &str,
    groups: &[String],
) -> Result<GroupsAdded> {
    let body = Value::from(groups.to_vec());
    let resp = client
        .request(reqwest::Method::PUT, &user_path(username, "/groups")?)
        .json(&body)
        .send()
        .await?;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let failed: Vec<String> = match status {
        200 => Vec::new(),
        202 => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(a)) => a
                .into_iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect(),
            _ => groups.to_vec(),
        },
        _ => {
            return Err(Error::Operation(format!(
                "Failed to add user to groups: {text}"
            )))
        }
    };
    let added = groups
        .iter()
        .filter(|g| !failed.contains(g))
        .cloned()
        .collect();
    Ok(GroupsAdded {
        username: username.to_string(),
        added,
        failed,
    })
}
