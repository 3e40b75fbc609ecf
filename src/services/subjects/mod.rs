//! Subjects: listing with session counts, detail, delete, rename/merge, sharing and custom
//! variables. Subject ids and labels are validated before any request is built.

pub mod rename;

pub use super::custom_vars::{parse_assignments, Var};

use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::{seg, XnatClient};
use crate::core::output::{Item, Row};
use crate::core::validation::{validate_project_id, validate_subject_id, validate_xnat_label};
use crate::core::{Error, Result};
use crate::services::projects::{cell, data_fields, fetch_rows, Fetch};

fn subjects_path(project: &str) -> Result<String> {
    Ok(format!(
        "/data/projects/{}/subjects",
        seg(&validate_project_id(project)?)?
    ))
}

fn subject_path(project: &str, subject: &str) -> Result<String> {
    Ok(format!("{}/{}", subjects_path(project)?, seg(subject)?))
}

/// One row of `subject list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectRow {
    /// Accession id.
    pub id: String,
    /// Label in the project.
    pub label: String,
    /// Number of sessions (`"?"` on error); absent when not counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions: Option<Value>,
}

impl Row for SubjectRow {
    const COLUMNS: &'static [(&'static str, &'static str)] =
        &[("id", "ID"), ("label", "Label"), ("sessions", "Sessions")];
    const ID: &'static str = "id";
}

/// `GET /data/projects/{P}/subjects?columns=ID,label`.
pub async fn list(client: &XnatClient, project: &str, fetch: Fetch) -> Result<Vec<SubjectRow>> {
    let rows = fetch_rows(
        client,
        &subjects_path(project)?,
        &[("columns", "ID,label")],
        fetch,
    )
    .await
    .map_err(|e| e.naming_not_found("project", project))?;
    Ok(rows
        .iter()
        .map(|r| SubjectRow {
            id: cell(r, "ID"),
            label: cell(r, "label"),
            sessions: None,
        })
        .collect())
}

/// Fill `sessions` for every row from one project-wide experiments listing
/// (`GET /data/projects/{P}/experiments?columns=ID,subject_ID`), counted per subject ID. One
/// request whatever the project's size: a real server answers each request slowly, so a
/// request per subject would make the listing of a 2,000-subject project take minutes. The
/// listing includes sessions shared into the project, as the per-subject listing did.
pub async fn count_sessions(client: &XnatClient, project: &str, rows: &mut [SubjectRow]) {
    let counted = async {
        let path = format!(
            "/data/projects/{}/experiments",
            seg(&validate_project_id(project)?)?
        );
        let exps = client
            .list_rows(&path, &[("columns", "ID,subject_ID")])
            .await?;
        let mut counts = std::collections::HashMap::<String, usize>::new();
        for e in &exps {
            *counts.entry(cell(e, "subject_ID")).or_default() += 1;
        }
        Ok::<_, Error>(counts)
    }
    .await;
    for row in rows.iter_mut() {
        row.sessions = Some(match &counted {
            Ok(counts) => Value::from(counts.get(&row.id).copied().unwrap_or(0)),
            Err(_) => Value::from("?"),
        });
    }
}

/// A subject as resolved in a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Accession id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Owning project.
    pub project: String,
    /// The whole item document.
    pub doc: Value,
}

/// `GET /data/projects/{P}/subjects/{S}?format=json`; a 404 or empty answer is NotFound.
pub async fn resolve(client: &XnatClient, project: &str, subject: &str) -> Result<Resolved> {
    let subject = validate_subject_id(subject)?;
    let doc = client
        .get_json(&subject_path(project, &subject)?, &[])
        .await
        .map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found("subject", &subject),
            other => other,
        })?;
    let f = data_fields(&doc).ok_or_else(|| Error::not_found("subject", &subject))?;
    Ok(Resolved {
        id: cell(f, "ID"),
        label: cell(f, "label"),
        project: cell(f, "project"),
        doc: doc.clone(),
    })
}

/// `subject show` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectDetail {
    /// Accession id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Owning project.
    pub project: String,
    /// Number of sessions in the project.
    pub session_count: usize,
    /// The first 10 session labels.
    pub sessions: Vec<String>,
    /// Other projects the subject is shared into (`P` or `P (as label)`).
    pub shared_projects: Vec<String>,
    /// Present (true) when more than 10 sessions exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions_truncated: Option<bool>,
}

impl Item for SubjectDetail {
    /// The reference's `-q` prints the label (the id is in the JSON).
    const ID: &'static str = "label";
    const LABELS: &'static [(&'static str, &'static str)] = &[("id", "ID")];
}

/// Detail plus the warnings for sub-listings that failed.
pub async fn show(
    client: &XnatClient,
    project: &str,
    subject: &str,
) -> Result<(SubjectDetail, Vec<String>)> {
    let r = resolve(client, project, subject).await?;
    let mut warnings = Vec::new();
    // Sessions and shares are independent: sent together, one round trip on a real server.
    let (exps_path, shares_path) = (
        format!("{}/experiments", subject_path(project, &r.id)?),
        format!("/data/subjects/{}/projects", seg(&r.id)?),
    );
    let (exps, shares) = tokio::join!(
        client.list_rows(&exps_path, &[]),
        client.list_rows(&shares_path, &[])
    );
    let exps = match exps {
        Ok(rows) => rows,
        Err(e) => {
            warnings.push(format!("could not list sessions: {e}"));
            Vec::new()
        }
    };
    let shares = match shares {
        Ok(rows) => rows,
        Err(e) => {
            warnings.push(format!("could not list projects: {e}"));
            Vec::new()
        }
    };
    let sessions = exps
        .iter()
        .take(10)
        .map(|e| {
            let l = cell(e, "label");
            if l.is_empty() {
                cell(e, "ID")
            } else {
                l
            }
        })
        .collect();
    let shared_projects = shares
        .iter()
        .filter_map(|p| {
            let id = cell(p, "ID");
            let id = if id.is_empty() { cell(p, "id") } else { id };
            if id.is_empty() || id == r.project {
                return None;
            }
            let label = cell(p, "label");
            Some(if label.is_empty() || label == r.label {
                id
            } else {
                format!("{id} (as {label})")
            })
        })
        .collect();
    Ok((
        SubjectDetail {
            id: r.id,
            label: r.label,
            project: r.project,
            session_count: exps.len(),
            sessions,
            shared_projects,
            sessions_truncated: (exps.len() > 10).then_some(true),
        },
        warnings,
    ))
}

/// `DELETE /data/projects/{P}/subjects/{S}`.
pub async fn delete(client: &XnatClient, project: &str, subject: &str) -> Result<()> {
    let subject = validate_subject_id(subject)?;
    client
        .delete(&subject_path(project, &subject)?, &[])
        .await
        .map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found("subject", &subject),
            other => other,
        })?;
    Ok(())
}

/// `PUT /data/subjects/{ID}/projects/{P2}[?label=L]`.
pub async fn share(
    client: &XnatClient,
    subject_id: &str,
    into: &str,
    label: Option<&str>,
) -> Result<()> {
    let into = validate_project_id(into)?;
    let mut req = client.request(
        Method::PUT,
        &format!(
            "/data/subjects/{}/projects/{}",
            seg(subject_id)?,
            seg(&into)?
        ),
    );
    if let Some(l) = label {
        req = req.query("label", validate_xnat_label(l, "label")?);
    }
    req.send().await.map_err(|e| match e {
        Error::Http { status: 409, .. } => Error::AlreadyExists {
            kind: "subject share".into(),
            id: format!("{subject_id} -> {into}"),
        },
        other => other,
    })?;
    Ok(())
}

/// `DELETE /data/subjects/{ID}/projects/{P2}`; refuses the owning project.
pub async fn unshare(client: &XnatClient, r: &Resolved, from: &str) -> Result<()> {
    let from = check_unshare(r, from)?;
    client
        .delete(
            &format!("/data/subjects/{}/projects/{}", seg(&r.id)?, seg(&from)?),
            &[],
        )
        .await?;
    Ok(())
}

/// The project to unshare from, refused when it is the owning project.
pub fn check_unshare(r: &Resolved, from: &str) -> Result<String> {
    let from = validate_project_id(from)?;
    if from.trim().to_lowercase() == r.project.trim().to_lowercase() {
        return Err(Error::InvalidInput(format!(
            "{from} is the primary project of subject {}; delete the subject instead of unsharing it",
            r.id
        )));
    }
    Ok(from)
}

/// The `fields/field` children of an item document.
pub fn vars_of(doc: &Value) -> Vec<Var> {
    let children = doc
        .pointer("/items/0/children")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    children
        .iter()
        .filter(|c| c.get("field").and_then(Value::as_str) == Some("fields/field"))
        .flat_map(|c| {
            c.get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|i| {
            let f = i.get("data_fields")?.as_object()?;
            Some(Var {
                name: cell(f, "name"),
                value: cell(f, "field"),
            })
        })
        .collect()
}

/// Read a subject's custom variables.
pub async fn vars(client: &XnatClient, project: &str, subject: &str) -> Result<Vec<Var>> {
    Ok(vars_of(&resolve(client, project, subject).await?.doc))
}

/// Check the subject exists; with `apply`, set every pair in one encoded PUT.
pub async fn set_vars(
    client: &XnatClient,
    project: &str,
    subject: &str,
    pairs: &[(String, String)],
    apply: bool,
) -> Result<()> {
    let r = resolve(client, project, subject).await?;
    if !apply {
        return Ok(());
    }
    client
        .request(Method::PUT, &subject_path(project, &r.label)?)
        .query_pairs(pairs.iter().map(|(k, v)| {
            (
                format!("xnat:subjectData/fields/field[name={k}]/field"),
                v.clone(),
            )
        }))
        .send()
        .await?;
    Ok(())
}

/// Subject rows (`ID`, `label`) of a project, whole set.
pub async fn all_rows(client: &XnatClient, project: &str) -> Result<Vec<Map<String, Value>>> {
    client
        .list_rows(&subjects_path(project)?, &[("columns", "ID,label")])
        .await
}

/// `PUT /data/projects/{P}/subjects/{old}?label={new}`.
pub async fn rename(client: &XnatClient, project: &str, old: &str, new: &str) -> Result<()> {
    let new = validate_xnat_label(new, "label")?;
    client
        .request(Method::PUT, &subject_path(project, old)?)
        .query("label", new)
        .send()
        .await?;
    Ok(())
}

/// Move every session of `old` to the existing subject `target`, verify, then delete `old`.
pub async fn merge(client: &XnatClient, project: &str, old: &str, target: &str) -> Result<usize> {
    let src = resolve(client, project, old).await?;
    let dst = resolve(client, project, target).await?;
    let exps_path = format!("{}/experiments", subject_path(project, &src.id)?);
    let exps = client.list_rows(&exps_path, &[]).await?;
    let ids: Vec<String> = exps.iter().map(|e| cell(e, "ID")).collect();
    futures::stream::iter(ids.iter().map(|e| {
        let dst_id = dst.id.clone();
        async move {
            let path = format!(
                "{}/experiments/{}",
                subject_path(project, &dst_id)?,
                seg(e)?
            );
            client
                .request(Method::PUT, &path)
                .query("event_type", "WEB_FORM")
                .query("event_action", "Modified subject")
                .send()
                .await?;
            let doc = client
                .get_json(&format!("/data/experiments/{}", seg(e)?), &[])
                .await?;
            let now = data_fields(&doc)
                .map(|f| cell(f, "subject_ID"))
                .unwrap_or_default();
            if now != dst_id {
                return Err(Error::Operation(format!(
                    "session {e} still belongs to {now} after the move"
                )));
            }
            Ok::<_, Error>(())
        }
    }))
    .buffered(1)
    .try_collect::<Vec<()>>()
    .await?;
    if !client.list_rows(&exps_path, &[]).await?.is_empty() {
        return Err(Error::Operation(format!(
            "{old} still has sessions; not deleted"
        )));
    }
    client.delete(&subject_path(project, &src.id)?, &[]).await?;
    Ok(ids.len())
}

#[cfg(test)]
mod tests;
