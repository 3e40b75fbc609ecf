//! Session (image experiment) operations: listing, the detail view, sharing, custom variables
//! and the label normalisation planner with its rename-and-poll applier.

mod normalize_labels;

pub use normalize_labels::{
    apply_plan, apply_rename, plan, plan_rows, Failed, Outcome, OutcomeRow, Plan, PollTimes,
    Rename, Skip,
};

pub use super::custom_vars::{parse_assignments, Var};

use futures::StreamExt;
use reqwest::Method;
use serde::Serialize;

use crate::core::client::{seg, XnatClient};
use crate::core::error::{Error, Result};
use crate::core::output::{listing_of, Item, ListControls, Listing, Row as OutputRow, Sectioned};
use crate::core::validation::{validate_project_id, validate_xnat_label};
use crate::services::experiments::{self, modality_of, text, Experiment, Row};

/// One row of `session list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRow {
    /// Accession ID.
    pub id: String,
    /// Label.
    pub label: String,
    /// Subject label.
    pub subject: String,
    /// Date as sent.
    pub date: String,
    /// Modality derived from the type, `?` when unknown.
    pub modality: String,
}

impl OutputRow for SessionRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "ID"),
        ("label", "Label"),
        ("subject", "Subject"),
        ("date", "Date"),
        ("modality", "Modality"),
    ];
    const ID: &'static str = "id";
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only sessions of this subject label.
    pub subject: Option<String>,
    /// Only this modality (already uppercased, `OCT` mapped to `OPT`).
    pub modality: Option<String>,
    /// Stop after this many rows, paging on the server (`None`: everything).
    pub server_limit: Option<usize>,
}

/// Normalise a `--modality` value: uppercase, `OCT` → `OPT`, empty refused.
pub fn normalize_modality(value: &str) -> Result<String> {
    let m = value.trim().to_ascii_uppercase();
    if m.is_empty() {
        return Err(Error::InvalidInput("--modality cannot be empty".into()));
    }
    Ok(if m == "OCT" { "OPT".into() } else { m })
}

/// The sessions of `project`.
pub async fn list(client: &XnatClient, project: &str, q: &ListQuery) -> Result<Vec<SessionRow>> {
    let project = validate_project_id(project)?;
    let path = format!("/data/projects/{}/experiments", seg(&project)?);
    list_at(client, &path, q)
        .await
        .map_err(|e| e.naming_not_found("project", &project))
}

async fn list_at(client: &XnatClient, path: &str, q: &ListQuery) -> Result<Vec<SessionRow>> {
    let path = path.to_string();
    let mut params = vec![("columns", "ID,label,subject_label,date,xsiType")];
    if let Some(s) = q.subject.as_deref() {
        params.push(("subject_label", s));
    }
    let to_row = |r: &Row| SessionRow {
        id: text(r, "ID"),
        label: text(r, "label"),
        subject: text(r, "subject_label"),
        date: text(r, "date"),
        modality: modality_of(&text(r, "xsiType")).unwrap_or_else(|| "?".into()),
    };
    let keep = |row: &SessionRow| q.modality.as_deref().is_none_or(|m| row.modality == m);
    match q.server_limit {
        Some(0) => Ok(Vec::new()),
        Some(n) => {
            let mut out = Vec::new();
            let mut pages = Box::pin(client.paginate(&path, &params, n.min(500), None));
            while let Some(r) = pages.next().await {
                let row = to_row(&r?);
                if keep(&row) {
                    out.push(row);
                    if out.len() == n {
                        break;
                    }
                }
            }
            Ok(out)
        }
        None => Ok(client
            .list_rows(&path, &params)
            .await?
            .iter()
            .map(to_row)
            .filter(keep)
            .collect()),
    }
}

/// A share of a session into another project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Share {
    /// The project shared into.
    pub project: String,
    /// The session's label there.
    pub label: String,
}

impl OutputRow for Share {
    const COLUMNS: &'static [(&'static str, &'static str)] =
        &[("project", "Project"), ("label", "Label there")];
    const ID: &'static str = "project";
}

/// Everything `session show` prints.
#[derive(Debug, Clone, Serialize)]
pub struct SessionDetail {
    /// The session's own fields (flattened into the JSON object).
    #[serde(flatten)]
    pub head: SessionHead,
    /// Scan rows as sent.
    pub scans: Vec<Row>,
    /// Session-level resource rows as sent.
    pub resources: Vec<Row>,
    /// Projects the session is shared into (not the primary).
    pub shared_projects: Vec<Share>,
}

/// The head of `session show`: the session's own fields.
#[derive(Debug, Clone, Serialize)]
pub struct SessionHead {
    /// Accession ID.
    pub id: String,
    /// Label.
    pub label: String,
    /// Subject label, else its ID.
    pub subject: Option<String>,
    /// Primary project.
    pub project: Option<String>,
    /// Date as sent.
    pub date: Option<String>,
    /// Schema type.
    pub xsi_type: Option<String>,
}

impl Item for SessionHead {
    const ID: &'static str = "id";
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("id", "ID"),
        ("label", "Label"),
        ("subject", "Subject"),
        ("project", "Project"),
        ("date", "Date"),
        ("xsi_type", "Type"),
    ];
    fn title(&self) -> Option<String> {
        Some(format!("[Session: {}]", self.label))
    }
}

/// One scan line of `session show`.
#[derive(Debug, Clone, Serialize)]
pub struct ScanLine {
    /// Scan ID.
    pub id: String,
    /// Scan type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Series description.
    pub series: String,
    /// Quality.
    pub quality: String,
    /// Frames.
    pub frames: String,
}

impl OutputRow for ScanLine {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "ID"),
        ("type", "Type"),
        ("series", "Series"),
        ("quality", "Quality"),
        ("frames", "Frames"),
    ];
    const ID: &'static str = "id";
}

/// One session-resource line of `session show`.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceLine {
    /// Resource label.
    pub label: String,
    /// Format.
    pub format: String,
    /// File count as sent.
    pub count: String,
    /// Size as sent.
    pub size: String,
}

impl OutputRow for ResourceLine {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("label", "Label"),
        ("format", "Format"),
        ("count", "Files"),
        ("size", "Size"),
    ];
    const ID: &'static str = "label";
}

fn titled<T: OutputRow>(title: &str, rows: &[T]) -> Result<Listing> {
    let mut l = listing_of(rows, &ListControls::default())?;
    l.title = Some(format!("[{title} ({})]", rows.len()));
    Ok(l)
}

impl Sectioned for SessionDetail {
    type Head = SessionHead;
    fn head(&self) -> &SessionHead {
        &self.head
    }
    fn sections(&self) -> Result<Vec<Listing>> {
        let scans: Vec<ScanLine> = self
            .scans
            .iter()
            .map(|r| ScanLine {
                id: text(r, "ID"),
                kind: text(r, "type"),
                series: text(r, "series_description"),
                quality: text(r, "quality"),
                frames: text(r, "frames"),
            })
            .collect();
        let resources: Vec<ResourceLine> = self
            .resources
            .iter()
            .map(|r| ResourceLine {
                label: text(r, "label"),
                format: text(r, "format"),
                count: text(r, "file_count"),
                size: text(r, "file_size"),
            })
            .collect();
        Ok(vec![
            titled("Scans", &scans)?,
            titled("Resources", &resources)?,
            titled("Shared into", &self.shared_projects)?,
        ])
    }
}

/// The detail view of a resolved session.
pub async fn show(client: &XnatClient, e: &Experiment) -> Result<SessionDetail> {
    // Three independent listings, sent together: one round trip on a real server, not three.
    let path = e.path()?;
    let (scans, resources, shared_projects) = futures::try_join!(
        experiments::list_scans(client, e),
        experiments::list_resources(client, &path),
        shares(client, e)
    )?;
    Ok(SessionDetail {
        head: SessionHead {
            id: e.id.clone(),
            label: e.label.clone(),
            subject: e.subject_label.clone().or_else(|| e.subject_id.clone()),
            project: e.project.clone(),
            date: e.date.clone(),
            xsi_type: e.xsi_type.clone(),
        },
        scans: scans.into_iter().map(|s| s.raw).collect(),
        resources,
        shared_projects,
    })
}

/// Projects a session is shared into. Servers without the listing (404) have no shares to show.
pub async fn shares(client: &XnatClient, e: &Experiment) -> Result<Vec<Share>> {
    let path = format!("{}/projects", experiments::flat_path(&e.id)?);
    let rows = match client.list_rows(&path, &[]).await {
        Ok(rows) => rows,
        Err(Error::NotFound { .. }) => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    Ok(rows
        .iter()
        .map(|r| {
            let project = [text(r, "ID"), text(r, "id"), text(r, "project")]
                .into_iter()
                .find(|v| !v.is_empty())
                .unwrap_or_default();
            Share {
                project,
                label: text(r, "label"),
            }
        })
        .filter(|s| !s.project.is_empty() && Some(&s.project) != e.project.as_ref())
        .collect())
}

fn share_path(e: &Experiment, target: &str) -> Result<String> {
    let target = validate_project_id(target)?;
    Ok(format!(
        "{}/projects/{}",
        experiments::flat_path(&e.id)?,
        seg(&target)?
    ))
}

/// Share `e` into `target`, optionally under another label. An existing share → AlreadyExists.
pub async fn share(
    client: &XnatClient,
    e: &Experiment,
    target: &str,
    label: Option<&str>,
) -> Result<()> {
    let path = share_path(e, target)?;
    let mut req = client.request(Method::PUT, &path);
    if let Some(l) = label {
        req = req.query("label", validate_xnat_label(l, "label")?);
    }
    match req.send().await {
        Ok(_) => Ok(()),
        Err(Error::Http { status: 409, .. }) => Err(Error::AlreadyExists {
            kind: "session share".into(),
            id: format!("{} in {target}", e.id),
        }),
        Err(err) => Err(err),
    }
}

/// Remove the share of `e` from `target`. The primary project cannot be "unshared".
pub async fn unshare(client: &XnatClient, e: &Experiment, target: &str) -> Result<()> {
    check_unshare(e, target)?;
    client
        .request(Method::DELETE, &share_path(e, target)?)
        .send()
        .await?;
    Ok(())
}

/// Refuse an unshare from the primary project, or when the primary project is unknown.
pub fn check_unshare(e: &Experiment, target: &str) -> Result<()> {
    match e.project.as_deref() {
        None | Some("") => Err(Error::Operation(format!(
            "cannot tell the primary project of {}; refusing to unshare",
            e.id
        ))),
        Some(p) if p == target => Err(Error::InvalidInput(format!(
            "{target} is the primary project of {}; it is not a share",
            e.id
        ))),
        _ => Ok(()),
    }
}

/// The custom variables of a session.
pub async fn vars(client: &XnatClient, e: &Experiment) -> Result<Vec<Var>> {
    let doc = client
        .get_json(&experiments::flat_path(&e.id)?, &[])
        .await?;
    Ok(experiments::custom_fields(&doc)
        .into_iter()
        .map(|(name, value)| Var { name, value })
        .collect())
}

/// Set custom variables on a session (project, subject and type must be known).
pub async fn set_vars(
    client: &XnatClient,
    e: &Experiment,
    vars: &[(String, String)],
) -> Result<()> {
    let (Some(p), Some(s), Some(xsi)) = (
        e.project.as_deref().filter(|v| !v.is_empty()),
        e.subject_id.as_deref().filter(|v| !v.is_empty()),
        e.xsi_type.as_deref().filter(|v| !v.is_empty()),
    ) else {
        return Err(Error::Operation(format!(
            "session {} lacks a project, subject or type; cannot set variables",
            e.id
        )));
    };
    let path = experiments::experiment_path(Some(p), Some(s), &e.id)?;
    let mut req = client
        .request(Method::PUT, &path)
        .query("xsiType", xsi.to_string());
    for (k, v) in vars {
        req = req.query(format!("{xsi}/fields/field[name={k}]/field"), v.clone());
    }
    req.send().await?;
    Ok(())
}

#[cfg(test)]
mod tests;
