//! Experiment (session) resolution and the listings that hang off an experiment: scans,
//! resources and files.
//!
//! Users name sessions by label or by accession ID, with or without a project. XNAT answers the
//! same experiment under several URL shapes, and not every shape works for every sub-path (a
//! project-scoped experiment URL answers `/scans` with the experiment document itself), so this
//! module owns both the resolution order and the routing rule for scan URLs. Other services
//! (session, scan, resource, transfers) build on these functions.

use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::{seg, XnatClient};
use crate::core::error::{Error, Result};
use crate::core::validation::validate_session_id;

/// One listing row as the server sent it.
pub type Row = Map<String, Value>;

/// A resolved experiment. `date` is kept as the server's text: XNAT installations with odd date
/// settings must not make resolution fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Experiment {
    /// Accession ID (`XNAT_E00001`).
    pub id: String,
    /// Label in the primary project.
    pub label: String,
    /// Primary project, when the server said.
    pub project: Option<String>,
    /// Subject accession ID.
    pub subject_id: Option<String>,
    /// Subject label.
    pub subject_label: Option<String>,
    /// Session date as sent (usually `YYYY-MM-DD`).
    pub date: Option<String>,
    /// Schema type (`xnat:mrSessionData`).
    pub xsi_type: Option<String>,
    /// Modality: the server's field, else derived from the type (`MR`), else `None`.
    pub modality: Option<String>,
}

impl Experiment {
    /// The canonical URL of the experiment: project+subject scoped when both are known, else
    /// the flat accession form.
    pub fn path(&self) -> Result<String> {
        match (&self.project, &self.subject_id) {
            (Some(p), Some(s)) if !p.is_empty() && !s.is_empty() => Ok(format!(
                "/data/projects/{}/subjects/{}/experiments/{}",
                seg(p)?,
                seg(s)?,
                seg(&self.id)?
            )),
            _ => flat_path(&self.id),
        }
    }

    /// The scan type matching this session type (`xnat:mrSessionData` → `xnat:mrScanData`), when
    /// the session type is an image session.
    pub fn scan_xsi_type(&self) -> Option<String> {
        let xsi = self.xsi_type.as_deref()?;
        let lower = xsi.to_ascii_lowercase();
        let at = lower.find("sessiondata")?;
        Some(format!(
            "{}ScanData{}",
            &xsi[..at],
            &xsi[at + "sessiondata".len()..]
        ))
    }
}

/// A scan row of an experiment's scan listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanRow {
    /// Scan ID within the session.
    pub id: String,
    /// Scan type.
    #[serde(rename = "type")]
    pub scan_type: String,
    /// Series description.
    pub series_description: String,
    /// Quality (`usable`, `questionable`, `unusable`).
    pub quality: String,
    /// Frame count, as text (empty when unknown).
    pub frames: String,
    /// Free-text note.
    pub note: String,
    /// Schema type of the scan.
    #[serde(skip)]
    pub xsi_type: String,
    /// The row as the server sent it.
    #[serde(skip)]
    pub raw: Row,
}

impl crate::core::output::Row for ScanRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "ID"),
        ("type", "Type"),
        ("series_description", "Series Description"),
        ("quality", "Quality"),
        ("frames", "Frames"),
    ];
    const ID: &'static str = "id";
}

/// One file of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRow {
    /// Base name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Size in bytes (`None` when the server sent none).
    #[serde(rename = "Size")]
    pub size: Option<u64>,
    /// REST URI; carries the path relative to the resource after `/files/`.
    #[serde(rename = "URI")]
    pub uri: String,
    /// Stored checksum (MD5), empty when the server has none.
    pub digest: String,
    /// The resource label the file belongs to.
    pub collection: String,
}

impl FileRow {
    /// The file's path inside its resource (after `/files/` in the URI), else its name.
    pub fn relative_path(&self) -> String {
        match self.uri.find("/files/") {
            Some(i) => {
                let rel = &self.uri[i + "/files/".len()..];
                percent_encoding::percent_decode_str(rel)
                    .decode_utf8_lossy()
                    .into_owned()
            }
            None => self.name.clone(),
        }
    }
}

fn accession_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[A-Z][A-Za-z0-9]*_E\d+$").expect("valid regex"))
}

/// Whether a value has the shape of an experiment accession ID (`XNAT_E00001`).
pub fn looks_like_accession_id(value: &str) -> bool {
    accession_re().is_match(value)
}

/// `/data/experiments/{E}`.
pub fn flat_path(experiment: &str) -> Result<String> {
    Ok(format!("/data/experiments/{}", seg(experiment)?))
}

/// The experiment URL for a user reference: project+subject, project, or flat.
pub fn experiment_path(
    project: Option<&str>,
    subject: Option<&str>,
    experiment: &str,
) -> Result<String> {
    match (project, subject) {
        (Some(p), Some(s)) => Ok(format!(
            "/data/projects/{}/subjects/{}/experiments/{}",
            seg(p)?,
            seg(s)?,
            seg(experiment)?
        )),
        (Some(p), None) => Ok(format!(
            "/data/projects/{}/experiments/{}",
            seg(p)?,
            seg(experiment)?
        )),
        _ => flat_path(experiment),
    }
}

/// Where scan URLs of an experiment reference go.
///
/// XNAT answers `/data/projects/{P}/experiments/{E}/scans` with the experiment document rather
/// than the scans, so with a project, no subject and an ID the flat `/data/experiments/{E}`
/// form is used. With a subject the scoped form works. A project-scoped *label* without a
/// subject has no routable form: `None` (callers resolve it first, or ask for `-S`).
/// `experiment_is_label` says whether the caller treats the value as a label; a value shaped
/// like an accession ID counts as an ID either way.
pub fn scan_parent_path(
    project: Option<&str>,
    subject: Option<&str>,
    experiment: &str,
    experiment_is_label: bool,
) -> Result<Option<String>> {
    let is_id = !experiment_is_label || looks_like_accession_id(experiment);
    match (project, subject) {
        (Some(_), Some(_)) => experiment_path(project, subject, experiment).map(Some),
        (Some(_), None) if is_id => flat_path(experiment).map(Some),
        (Some(_), None) => Ok(None),
        (None, _) => flat_path(experiment).map(Some),
    }
}

/// Find an experiment by label or ID, following the reference's order: the project-scoped (or
/// flat) detail document; then the project's experiment listing matched on label or ID; then
/// the flat accession URL when the value looks like one. Not found → `NotFound{kind:"session"}`.
pub async fn resolve(
    client: &XnatClient,
    project: Option<&str>,
    id_or_label: &str,
) -> Result<Experiment> {
    let wanted = validate_session_id(id_or_label)?;
    if let Some(p) = project {
        crate::core::validation::validate_project_id(p)?;
    }
    if let Some(found) = fetch_detail(client, &experiment_path(project, None, &wanted)?).await? {
        return Ok(found);
    }
    if let Some(p) = project {
        let path = format!("/data/projects/{}/experiments", seg(p)?);
        let rows = client
            .list_rows(&path, &[("columns", "ID,label,subject_ID,xsiType")])
            .await?;
        let hit = rows
            .iter()
            .find(|r| text(r, "label") == wanted)
            .or_else(|| rows.iter().find(|r| text(r, "ID") == wanted));
        if let Some(row) = hit {
            let id = text(row, "ID");
            if !id.is_empty() {
                if let Some(found) = fetch_detail(client, &flat_path(&id)?).await? {
                    return Ok(found);
                }
            }
        }
    }
    if project.is_some() && looks_like_accession_id(&wanted) {
        if let Some(found) = fetch_detail(client, &flat_path(&wanted)?).await? {
            return Ok(found);
        }
    }
    Err(Error::not_found("session", wanted))
}

/// The detail document at `path`, or `None` on 404 or an empty answer.
async fn fetch_detail(client: &XnatClient, path: &str) -> Result<Option<Experiment>> {
    match client.get_json(path, &[]).await {
        Ok(doc) => Ok(parse_detail(&doc)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The first item's fields (and `meta`) of a detail document, falling back to ResultSet row 0.
pub fn detail_fields(doc: &Value) -> Option<(Row, Option<String>)> {
    if let Some(item) = doc
        .get("items")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        let fields = item.get("data_fields")?.as_object()?.clone();
        let xsi = item
            .get("meta")
            .and_then(|m| m.get("xsi:type"))
            .and_then(Value::as_str)
            .map(str::to_string);
        return Some((fields, xsi));
    }
    let row = doc
        .get("ResultSet")?
        .get("Result")?
        .as_array()?
        .first()?
        .as_object()?
        .clone();
    Some((row, None))
}

/// Custom variables of a detail document: the `fields/field` children as `(name, value)`.
pub fn custom_fields(doc: &Value) -> Vec<(String, String)> {
    let Some(item) = doc
        .get("items")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    else {
        return Vec::new();
    };
    let children = item.get("children").and_then(Value::as_array);
    children
        .into_iter()
        .flatten()
        .filter(|c| c.get("field").and_then(Value::as_str) == Some("fields/field"))
        .flat_map(|c| {
            c.get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|i| i.get("data_fields").and_then(Value::as_object))
        .map(|f| (text(f, "name"), text(f, "field")))
        .collect()
}

fn parse_detail(doc: &Value) -> Option<Experiment> {
    let (f, meta_xsi) = detail_fields(doc)?;
    let id = first_of(&f, &["ID", "id"])?;
    let opt = |keys: &[&str]| first_of(&f, keys);
    let xsi_type = meta_xsi.or_else(|| opt(&["xsiType", "xsi_type"]));
    let modality = opt(&["modality"]).or_else(|| xsi_type.as_deref().and_then(modality_of));
    Some(Experiment {
        label: opt(&["label"]).unwrap_or_else(|| id.clone()),
        id,
        project: opt(&["project"]),
        subject_id: opt(&["subject_ID", "subject_id"]),
        subject_label: opt(&["subject_label"]),
        date: opt(&["date"]),
        xsi_type,
        modality,
    })
}

/// `MR` from `xnat:mrSessionData`; `None` for anything that is not `xnat:<x>SessionData`.
pub fn modality_of(xsi_type: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"^xnat:([a-z0-9]+)sessiondata$").expect("valid regex"));
    re.captures(&xsi_type.to_ascii_lowercase())
        .map(|c| c[1].to_ascii_uppercase())
}

/// The scans of a resolved experiment. When the plain listing is empty for an image session,
/// it is asked again with the scan type, which some XNAT versions need.
pub async fn list_scans(client: &XnatClient, experiment: &Experiment) -> Result<Vec<ScanRow>> {
    list_scans_at(
        client,
        &format!("{}/scans", experiment.path()?),
        experiment.scan_xsi_type(),
    )
    .await
}

/// The scans listed at `scans_path`, with the same retry as [`list_scans`].
pub async fn list_scans_at(
    client: &XnatClient,
    scans_path: &str,
    scan_xsi_type: Option<String>,
) -> Result<Vec<ScanRow>> {
    let mut rows = client.list_rows(scans_path, &[]).await?;
    if rows.is_empty() {
        if let Some(xsi) = scan_xsi_type {
            rows = client.list_rows(scans_path, &[("xsiType", &xsi)]).await?;
        }
    }
    Ok(rows.into_iter().map(scan_row).collect())
}

/// A typed scan row from a listing row (or a detail document's fields).
pub fn scan_row(raw: Row) -> ScanRow {
    ScanRow {
        id: first_of(&raw, &["ID", "id"]).unwrap_or_default(),
        scan_type: text(&raw, "type"),
        series_description: text(&raw, "series_description"),
        quality: text(&raw, "quality"),
        frames: text(&raw, "frames"),
        note: text(&raw, "note"),
        xsi_type: first_of(&raw, &["xsiType", "xsi_type"]).unwrap_or_default(),
        raw,
    }
}

/// The resources listed at `<parent>/resources`, as sent.
pub async fn list_resources(client: &XnatClient, parent: &str) -> Result<Vec<Row>> {
    client.list_rows(&format!("{parent}/resources"), &[]).await
}

/// The files of resource `label` under `parent` (`<parent>/resources/{label}/files`).
pub async fn list_files(client: &XnatClient, parent: &str, label: &str) -> Result<Vec<FileRow>> {
    let path = format!("{parent}/resources/{}/files", seg(label)?);
    let rows = client.list_rows(&path, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| FileRow {
            name: text(r, "Name"),
            size: r.get("Size").and_then(|v| match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }),
            uri: text(r, "URI"),
            digest: text(r, "digest"),
            collection: {
                let c = text(r, "collection");
                if c.is_empty() {
                    label.to_string()
                } else {
                    c
                }
            },
        })
        .collect())
}

/// A cell as text: strings as is, numbers and booleans printed, null/missing empty.
pub fn text(row: &Row, key: &str) -> String {
    match row.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

fn first_of(row: &Row, keys: &[&str]) -> Option<String> {
    keys.iter().map(|k| text(row, k)).find(|v| !v.is_empty())
}

#[cfg(test)]
mod tests;
