//! Resource operations: where a resource listing lives (project, subject, session or scan),
//! listing, the detail view with its first files, and the catalog refresh service.

use reqwest::Method;
use serde::Serialize;

use crate::core::client::{seg, XnatClient};
use crate::core::error::{Error, Result};
use crate::core::output::{Item, Row as OutputRow};
use crate::core::validation::{
    validate_project_id, validate_scan_id, validate_session_id, validate_subject_id,
    validate_xnat_resource_label,
};
use crate::services::experiments::{self, text, Row};

/// How many file names `resource show` includes.
pub const SHOW_FILES: usize = 20;

/// What a resource command addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Project-level resources.
    Project(String),
    /// Subject-level resources.
    Subject {
        /// The subject's project.
        project: String,
        /// Subject ID or label.
        subject: String,
    },
    /// Session-level resources, or a scan's when `scan` is set.
    Session {
        /// Project that scopes a session label.
        project: Option<String>,
        /// Session accession ID, or label with `project`.
        session: String,
        /// Scan ID, for the scan's resources.
        scan: Option<String>,
    },
}

/// The parent URL of the scope's `/resources`. A session label with a project and a scan is
/// resolved first, since scans do not answer under a project-scoped experiment URL.
pub async fn parent_path(client: &XnatClient, scope: &Scope) -> Result<String> {
    match scope {
        Scope::Project(p) => Ok(format!("/data/projects/{}", seg(&validate_project_id(p)?)?)),
        Scope::Subject { project, subject } => Ok(format!(
            "/data/projects/{}/subjects/{}",
            seg(&validate_project_id(project)?)?,
            seg(&validate_subject_id(subject)?)?
        )),
        Scope::Session {
            project,
            session,
            scan,
        } => {
            let session = validate_session_id(session)?;
            let project = project.as_deref().map(validate_project_id).transpose()?;
            match scan {
                None => experiments::experiment_path(project.as_deref(), None, &session),
                Some(scan) => {
                    let scan = seg(&validate_scan_id(scan)?)?;
                    let parent = match experiments::scan_parent_path(
                        project.as_deref(),
                        None,
                        &session,
                        true,
                    )? {
                        Some(p) => p,
                        None => {
                            let e =
                                experiments::resolve(client, project.as_deref(), &session).await?;
                            experiments::flat_path(&e.id)?
                        }
                    };
                    Ok(format!("{parent}/scans/{scan}"))
                }
            }
        }
    }
}

/// One resource row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceRow {
    /// Label.
    pub label: String,
    /// Format (`DICOM`, `NIFTI`).
    pub format: String,
    /// File count, as the server's listing sends it: text (the reference's JSON has the same).
    pub file_count: String,
    /// Total size in bytes, as text (cached stat; may be empty).
    pub file_size: String,
    /// Content tag (`RAW`).
    pub content: String,
}

impl OutputRow for ResourceRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("label", "Label"),
        ("format", "Format"),
        ("file_count", "Files"),
        ("file_size", "Size"),
        ("content", "Content"),
    ];
    const ID: &'static str = "label";
}

fn resource_row(r: &Row) -> ResourceRow {
    ResourceRow {
        label: text(r, "label"),
        format: text(r, "format"),
        file_count: text(r, "file_count"),
        file_size: text(r, "file_size"),
        content: text(r, "content"),
    }
}

/// The resources under `parent`.
pub async fn list(client: &XnatClient, parent: &str) -> Result<Vec<ResourceRow>> {
    Ok(experiments::list_resources(client, parent)
        .await?
        .iter()
        .map(resource_row)
        .collect())
}

/// `resource show`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceDetail {
    /// Label.
    pub label: String,
    /// Format.
    pub format: String,
    /// Content tag.
    pub content: String,
    /// File count (cached stat), as text.
    pub file_count: String,
    /// Total size (cached stat), as text.
    pub file_size: String,
    /// The first file names.
    pub files: Vec<String>,
    /// Set when more files exist than are listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_truncated: Option<bool>,
    /// The number of files, when truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_files: Option<usize>,
}

impl Item for ResourceDetail {
    const ID: &'static str = "label";
    // "Files" is the list of names; the count needs a label of its own.
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("file_count", "File Count"), ("file_size", "Size")];
}

/// One resource of `parent` with its first [`SHOW_FILES`] file names.
pub async fn show(client: &XnatClient, parent: &str, label: &str) -> Result<ResourceDetail> {
    // The command-line rule first (at most 64 characters, as the reference), then XNAT's.
    let label =
        validate_xnat_resource_label(&crate::core::validation::validate_resource_label(label)?)?;
    // The resource row and its files are independent: sent together, one round trip. A
    // missing resource is reported from the listing, whatever the file request answered.
    let (rows, files) = tokio::join!(
        experiments::list_resources(client, parent),
        experiments::list_files(client, parent, &label)
    );
    let rows = rows?;
    let Some(row) = rows.iter().find(|r| text(r, "label") == label) else {
        return Err(Error::not_found("resource", label));
    };
    let r = resource_row(row);
    let files = files?;
    let total = files.len();
    let truncated = total > SHOW_FILES;
    Ok(ResourceDetail {
        label: r.label,
        format: r.format,
        content: r.content,
        file_count: r.file_count,
        file_size: r.file_size,
        files: files.into_iter().take(SHOW_FILES).map(|f| f.name).collect(),
        files_truncated: truncated.then_some(true),
        total_files: truncated.then_some(total),
    })
}

/// The refresh options XNAT knows.
pub const REFRESH_OPTIONS: &[&str] = &["checksum", "delete", "append", "populateStats"];

/// Result of a catalog refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refreshed {
    /// The archive URI refreshed.
    pub resource: String,
    /// Options sent.
    pub options: Vec<String>,
    /// Always `ok` (failures are errors).
    pub status: String,
}

impl Item for Refreshed {
    const ID: &'static str = "resource";
}

/// `POST /data/services/refresh/catalog?resource=URI[&options=a,b]`.
pub async fn refresh(client: &XnatClient, uri: &str, options: &[String]) -> Result<Refreshed> {
    let uri = uri.trim();
    if uri.is_empty() || !uri.starts_with('/') {
        return Err(Error::InvalidInput(format!(
            "the resource URI must be an archive path such as /archive/experiments/XNAT_E00001, got '{uri}'"
        )));
    }
    if let Some(bad) = options
        .iter()
        .find(|o| !REFRESH_OPTIONS.contains(&o.as_str()))
    {
        return Err(Error::usage(format!(
            "unknown refresh option '{bad}'; expected one of {}",
            REFRESH_OPTIONS.join(", ")
        )));
    }
    let mut req = client
        .request(Method::POST, "/data/services/refresh/catalog")
        .query("resource", uri.to_string());
    if !options.is_empty() {
        req = req.query("options", options.join(","));
    }
    let resp = req.send().await?;
    if resp.status().as_u16() != 200 {
        return Err(Error::Operation(format!(
            "catalog refresh answered HTTP {} instead of 200",
            resp.status().as_u16()
        )));
    }
    Ok(Refreshed {
        resource: uri.to_string(),
        options: options.to_vec(),
        status: "ok".into(),
    })
}
