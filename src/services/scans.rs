//! Scan operations: finding the routable parent URL of a session's scans, the scan detail view
//! and deletion.

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use crate::core::client::{seg, XnatClient};
use crate::core::error::{Error, Result};
use crate::core::output::Item;
use crate::core::validation::{
    validate_project_id, validate_scan_id, validate_session_id, validate_subject_id,
};
use crate::services::experiments::{self, detail_fields, scan_row, text, ScanRow};

/// Where a session's scans live, after inspecting the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanParent {
    /// The experiment URL scan paths hang off (`…/experiments/{ID}`).
    pub path: String,
    /// Accession ID when the server told us, else the value given.
    pub experiment_id: String,
    /// The scan type to ask for when a plain listing is empty.
    pub scan_xsi_type: Option<String>,
    /// Project in scope.
    pub project: Option<String>,
    /// Subject (as given, or the session's subject ID).
    pub subject: Option<String>,
}

/// Inspect `experiment` (an ID, or a label when a project is given) and pick the URL its scans
/// answer under. A project-scoped label that cannot be resolved without a subject is refused.
pub async fn inspect(
    client: &XnatClient,
    project: Option<&str>,
    subject: Option<&str>,
    experiment: &str,
) -> Result<ScanParent> {
    let experiment = validate_session_id(experiment)?;
    let project = project.map(validate_project_id).transpose()?;
    let subject = subject.map(validate_subject_id).transpose()?;
    if subject.is_some() && project.is_none() {
        return Err(Error::usage("-S/--subject needs -P/--project"));
    }
    let path = experiments::experiment_path(project.as_deref(), subject.as_deref(), &experiment)?;
    let detail = match client.get_json(&path, &[]).await {
        Ok(doc) => detail_fields(&doc),
        Err(Error::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    if let Some((fields, meta_xsi)) = detail {
        let id = [text(&fields, "ID"), text(&fields, "id")]
            .into_iter()
            .find(|v| !v.is_empty())
            .unwrap_or_else(|| experiment.clone());
        let subject = subject.clone().or_else(|| {
            project
                .as_ref()
                .map(|_| text(&fields, "subject_ID"))
                .filter(|s| !s.is_empty())
        });
        let xsi = meta_xsi.or_else(|| Some(text(&fields, "xsiType")).filter(|s| !s.is_empty()));
        let e = experiments::Experiment {
            id: id.clone(),
            label: text(&fields, "label"),
            project: project.clone(),
            subject_id: subject.clone(),
            subject_label: None,
            date: None,
            xsi_type: xsi,
            modality: None,
        };
        return Ok(ScanParent {
            path: e.path()?,
            experiment_id: id,
            scan_xsi_type: e.scan_xsi_type(),
            project,
            subject,
        });
    }
    match experiments::scan_parent_path(
        project.as_deref(),
        subject.as_deref(),
        &experiment,
        project.is_some(),
    )? {
        Some(path) => Ok(ScanParent {
            path,
            experiment_id: experiment,
            scan_xsi_type: None,
            project,
            subject,
        }),
        None => Err(Error::not_found(
            "session",
            format!(
                "{experiment} in project {} (pass -S SUBJECT, or the accession ID)",
                project.unwrap_or_default()
            ),
        )),
    }
}

/// The scans of the inspected session.
pub async fn list(client: &XnatClient, parent: &ScanParent) -> Result<Vec<ScanRow>> {
    experiments::list_scans_at(
        client,
        &format!("{}/scans", parent.path),
        parent.scan_xsi_type.clone(),
    )
    .await
}

/// `scan show`: the scan's fields (as in a listing row) and its resource labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanDetail {
    /// Scan ID within the session (the requested one when the server sends none).
    pub id: String,
    /// Scan type.
    #[serde(rename = "type")]
    pub scan_type: String,
    /// Series description.
    pub series_description: String,
    /// Quality (`usable`, `questionable`, `unusable`).
    pub quality: String,
    /// Frame count: a number, as the item document (and the reference) has it; null if unknown.
    pub frames: Option<u64>,
    /// Free-text note.
    pub note: String,
    /// Resource labels.
    pub resources: Vec<String>,
}

impl Item for ScanDetail {
    const ID: &'static str = "id";
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("id", "ID"),
        ("type", "Type"),
        ("series_description", "Series Description"),
        ("frames", "Frames"),
    ];
}

fn scan_path(parent: &ScanParent, scan: &str) -> Result<String> {
    Ok(format!(
        "{}/scans/{}",
        parent.path,
        seg(&validate_scan_id(scan)?)?
    ))
}

/// One scan with its resource labels.
pub async fn show(client: &XnatClient, parent: &ScanParent, scan: &str) -> Result<ScanDetail> {
    let path = scan_path(parent, scan)?;
    // The scan and its resources are independent: sent together, one round trip.
    let resources_path = format!("{path}/resources");
    let (doc, resource_rows) = tokio::join!(
        client.get_json(&path, &[]),
        client.list_rows(&resources_path, &[])
    );
    let doc = doc.map_err(|e| e.naming_not_found("scan", scan))?;
    let Some((fields, _)) = detail_fields(&doc) else {
        return Err(Error::not_found("scan", scan));
    };
    let frames = fields.get("frames").and_then(|v| match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    let row: ScanRow = scan_row(fields);
    let resources = resource_rows?.iter().map(|r| text(r, "label")).collect();
    Ok(ScanDetail {
        id: if row.id.is_empty() {
            scan.to_string()
        } else {
            row.id
        },
        scan_type: row.scan_type,
        series_description: row.series_description,
        quality: row.quality,
        frames,
        note: row.note,
        resources,
    })
}

/// Delete one scan (its files go with it).
pub async fn delete(client: &XnatClient, parent: &ScanParent, scan: &str) -> Result<()> {
    client
        .request(Method::DELETE, &scan_path(parent, scan)?)
        .send()
        .await
        .map_err(|e| e.naming_not_found("scan", scan))?;
    Ok(())
}

/// Scan ids from repeated/comma-separated `--scans` values; `None` means all (`*`).
pub fn parse_scan_ids(values: &[String]) -> Result<Option<Vec<String>>> {
    let mut out: Vec<String> = Vec::new();
    for v in values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        if v == "*" {
            return Ok(None);
        }
        let id = validate_scan_id(v)?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_ids_split_dedupe_and_star() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_scan_ids(&v(&["1,2", "2", " 3 "])).unwrap(),
            Some(v(&["1", "2", "3"]))
        );
        assert_eq!(parse_scan_ids(&v(&["1", "*"])).unwrap(), None);
        assert!(parse_scan_ids(&v(&["a/b"])).is_err());
    }
}
