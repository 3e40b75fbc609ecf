//! The prearchive: sessions received but not yet archived, and each project's routing setting.
//!
//! Prearchive paths use the strict segment encoder (dots as `%2E`), as XNAT's prearchive
//! resource mis-reads a literal dot in a folder name as an extension. Archive, rebuild and move
//! may answer 200 with an error in the body; [`check_body`] turns those into errors.

use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::{seg, seg_strict, XnatClient};
use crate::core::error::snippet;
use crate::core::output::{Item, Row as OutputRow};
use crate::core::validation;
use crate::core::{Error, Result};

/// One prearchive listing row as the server sent it.
pub type Row = Map<String, Value>;

/// A prearchive session address: project / timestamp / folder name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrearchiveRef {
    /// Project ID (or `Unassigned`).
    pub project: String,
    /// Upload timestamp folder (`yyyyMMdd_HHmmssSSS`).
    pub timestamp: String,
    /// Session folder name.
    pub session: String,
}

impl PrearchiveRef {
    /// Validate the three parts (the reference validated none of them).
    pub fn new(project: &str, timestamp: &str, session: &str) -> Result<Self> {
        Ok(PrearchiveRef {
            project: validation::validate_project_id(project)?,
            timestamp: validation::validate_xnat_label(timestamp, "timestamp")?,
            session: validation::validate_xnat_label(session, "session")?,
        })
    }

    /// `/data/prearchive/projects/P/T/S`, strictly encoded.
    pub fn path(&self) -> Result<String> {
        Ok(format!(
            "/data/prearchive/projects/{}/{}/{}",
            seg_strict(&self.project)?,
            seg_strict(&self.timestamp)?,
            seg_strict(&self.session)?
        ))
    }

    /// The `src=` value of the archive service.
    pub fn src(&self) -> Result<String> {
        Ok(format!(
            "/prearchive/projects/{}/{}/{}",
            seg(&self.project)?,
            seg(&self.timestamp)?,
            seg(&self.session)?
        ))
    }
}

/// Sessions in the prearchive, all projects or one.
pub async fn list(client: &XnatClient, project: Option<&str>) -> Result<Vec<PrearchiveRow>> {
    let path = match project {
        Some(p) => format!(
            "/data/prearchive/projects/{}",
            seg_strict(&validation::validate_project_id(p)?)?
        ),
        None => "/data/prearchive".to_string(),
    };
    let rows = client.list_rows(&path, &[]).await?;
    Ok(rows.into_iter().map(PrearchiveRow).collect())
}

/// One session waiting in the prearchive, as the server lists it (every column in JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct PrearchiveRow(pub Row);

impl OutputRow for PrearchiveRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("project", "Project"),
        ("timestamp", "Timestamp"),
        ("name", "Name"),
        ("status", "Status"),
        ("scan_date", "Scan Date"),
        ("subject", "Subject"),
    ];
    const ID: &'static str = "name";
    const TITLE: Option<&'static str> = Some("Prearchive Sessions");

    /// `PROJECT/TIMESTAMP/FOLDER`: the address every other prearchive verb takes.
    fn quiet_id(&self) -> Option<String> {
        let text = |k: &str| self.0.get(k).and_then(Value::as_str).unwrap_or("");
        let folder = match text("folderName") {
            "" => text("name"),
            f => f,
        };
        Some(format!(
            "{}/{}/{folder}",
            text("project"),
            text("timestamp")
        ))
    }
}

/// Prearchive routing codes and their names.
pub const MODES: &[(u8, &str)] = &[
    (0, "manual"),
    (4, "auto-archive"),
    (5, "auto-archive-overwrite"),
];

/// A project's prearchive routing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RoutingSetting {
    /// Project ID.
    pub project: String,
    /// Numeric code.
    pub code: i64,
    /// `manual`, `auto-archive`, `auto-archive-overwrite` or `unrecognized (N)`.
    pub mode: String,
}

impl Item for RoutingSetting {
    const ID: &'static str = "project";
}

fn mode_name(code: i64) -> String {
    MODES
        .iter()
        .find(|(c, _)| i64::from(*c) == code)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| format!("unrecognized ({code})"))
}

/// The code for a mode name.
pub fn mode_code(mode: &str) -> Option<u8> {
    MODES.iter().find(|(_, n)| *n == mode).map(|(c, _)| *c)
}

/// Read a project's routing.
pub async fn get_setting(client: &XnatClient, project: &str) -> Result<RoutingSetting> {
    let project = validation::validate_project_id(project)?;
    let text = client
        .get_text(
            &format!("/data/projects/{}/prearchive_code", seg(&project)?),
            &[],
        )
        .await?;
    let code: i64 = text.trim().parse().map_err(|_| {
        Error::Operation(format!(
            "unexpected prearchive_code answer for {project}: {}",
            snippet(&text, 100)
        ))
    })?;
    Ok(RoutingSetting {
        mode: mode_name(code),
        project,
        code,
    })
}

/// Change a project's routing. A 403 for an auto-archive mode usually means the site forbids it.
pub async fn set_setting(client: &XnatClient, project: &str, mode: &str) -> Result<RoutingSetting> {
    let project = validation::validate_project_id(project)?;
    let code = mode_code(mode).ok_or_else(|| {
        Error::usage(format!(
            "unknown prearchive mode '{mode}': use manual, auto-archive or auto-archive-overwrite"
        ))
    })?;
    let path = format!("/data/projects/{}/prearchive_code/{code}", seg(&project)?);
    match client.request(Method::PUT, &path).send().await {
        Ok(_) => {}
        Err(Error::PermissionDenied(_)) if code != 0 => {
            return Err(Error::Operation(format!(
                "the server refused to set {project} to {mode}: auto-archive may be disabled site-wide (site property project.allow-auto-archive)"
            )))
        }
        Err(e) => return Err(e),
    }
    Ok(RoutingSetting {
        project,
        code: i64::from(code),
        mode: mode.to_string(),
    })
}

/// The archive request.
#[derive(Debug, Clone)]
pub struct ArchiveRequest {
    /// The prearchive session.
    pub src: PrearchiveRef,
    /// Subject label to archive under.
    pub subject: Option<String>,
    /// Experiment label to archive as (needs a subject).
    pub label: Option<String>,
    /// Replace an existing session (`overwrite=delete`).
    pub overwrite: bool,
}

/// What archiving (or moving, rebuilding) answered.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OperationResult {
    /// Always true (failures are errors).
    pub success: bool,
    /// `archive`, `move`, `rebuild` or `delete`.
    pub action: String,
    /// Project.
    pub project: String,
    /// Timestamp folder.
    pub timestamp: String,
    /// Session folder.
    pub session: String,
    /// Target project (move).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// First experiment URI found in the answer (archive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment_uri: Option<String>,
    /// The server's answer, trimmed.
    pub result: String,
}

impl Item for OperationResult {
    const ID: &'static str = "session";
}

impl OperationResult {
    fn new(action: &str, src: &PrearchiveRef, result: String) -> Self {
        OperationResult {
            success: true,
            action: action.to_string(),
            project: src.project.clone(),
            timestamp: src.timestamp.clone(),
            session: src.session.clone(),
            target: None,
            experiment_uri: None,
            result,
        }
    }
}

fn experiment_uri(body: &str) -> Option<String> {
    let re = regex::Regex::new(
        r"(?:/data)?(?:/archive)?(?:/projects/[^/\s]+/subjects/[^/\s]+)?/experiments/[^\s\x22,]+",
    )
    .expect("static regex");
    re.find(body).map(|m| m.as_str().to_string())
}

/// XNAT sometimes answers 200 with an error in the body.
pub fn check_body(body: &str) -> Result<()> {
    let lower = body.to_ascii_lowercase();
    if lower.contains("already exists") || lower.contains("conflict") {
        return Err(Error::Operation(format!(
            "prearchive session already exists: {}",
            snippet(body, 200)
        )));
    }
    let errorish = [
        "error",
        "exception",
        "failed",
        "failure",
        "not allowed",
        "denied",
    ];
    if experiment_uri(body).is_none() && errorish.iter().any(|m| lower.contains(m)) {
        return Err(Error::Operation(format!(
            "XNAT returned HTTP 200 with an error-shaped body: {}",
            snippet(body, 200)
        )));
    }
    Ok(())
}

fn not_found(src: &PrearchiveRef) -> Error {
    Error::NotFound {
        kind: "prearchive session".into(),
        id: format!(
            "{}/{}/{} (it may already be archived: check with xnatctl session show -P {} -E {})",
            src.project, src.timestamp, src.session, src.project, src.session
        ),
    }
}

/// Archive a prearchive session.
pub async fn archive(client: &XnatClient, req: &ArchiveRequest) -> Result<OperationResult> {
    let src = &req.src;
    let label = req
        .label
        .as_deref()
        .map(validation::validate_session_id)
        .transpose()?;
    let mut subject = req
        .subject
        .as_deref()
        .map(validation::validate_subject_id)
        .transpose()?;
    if label.is_some() && subject.is_none() {
        let rows = match client.list_rows(&src.path()?, &[]).await {
            Err(Error::NotFound { .. }) => return Err(not_found(src)),
            other => other?,
        };
        subject = rows
            .first()
            .and_then(|r| r.get("subject"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        if subject.is_none() {
            return Err(Error::Operation(
                "cannot archive to a specific experiment label without a subject: pass --subject"
                    .into(),
            ));
        }
    }
    let mut form: Vec<(String, String)> = vec![("src".into(), src.src()?)];
    if let Some(s) = &subject {
        let mut dest = format!(
            "/archive/projects/{}/subjects/{}",
            seg(&src.project)?,
            seg(s)?
        );
        if let Some(l) = &label {
            dest.push_str(&format!("/experiments/{}", seg(l)?));
        }
        form.push(("dest".into(), dest));
    }
    if req.overwrite {
        form.push(("overwrite".into(), "delete".into()));
    }
    let resp = client
        .request(Method::POST, "/data/services/archive")
        .form(&form)
        .send()
        .await
        .map_err(|e| match e {
            Error::NotFound { .. } => not_found(src),
            other => other,
        })?;
    let body = resp.text().await.unwrap_or_default();
    check_body(&body)?;
    let mut out = OperationResult::new("archive", src, body.trim().to_string());
    out.experiment_uri = experiment_uri(&body);
    Ok(out)
}

/// Delete a prearchive session.
pub async fn delete(client: &XnatClient, src: &PrearchiveRef) -> Result<OperationResult> {
    let resp = client
        .request(Method::DELETE, &src.path()?)
        .send()
        .await
        .map_err(|e| match e {
            Error::NotFound { .. } => not_found(src),
            other => other,
        })?;
    let body = resp.text().await.unwrap_or_default();
    Ok(OperationResult::new("delete", src, body.trim().to_string()))
}

/// Rebuild a prearchive session (re-read its DICOM headers).
pub async fn rebuild(client: &XnatClient, src: &PrearchiveRef) -> Result<OperationResult> {
    action(client, src, "rebuild", &[]).await
}

/// Move a prearchive session to another project's prearchive.
pub async fn move_to(
    client: &XnatClient,
    src: &PrearchiveRef,
    target: &str,
) -> Result<OperationResult> {
    let target = validation::validate_project_id(target)?;
    let mut out = action(client, src, "move", &[("newProject", &target)]).await?;
    out.target = Some(target);
    Ok(out)
}

async fn action(
    client: &XnatClient,
    src: &PrearchiveRef,
    name: &str,
    extra: &[(&str, &str)],
) -> Result<OperationResult> {
    let mut req = client
        .request(Method::POST, &src.path()?)
        .query("action", name);
    for (k, v) in extra {
        req = req.query(*k, *v);
    }
    let resp = req.send().await.map_err(|e| match e {
        Error::NotFound { .. } => not_found(src),
        other => other,
    })?;
    let body = resp.text().await.unwrap_or_default();
    check_body(&body)?;
    Ok(OperationResult::new(name, src, body.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_escape_dots() {
        let r = PrearchiveRef::new("P1", "20240101_101010123", "S1.x").unwrap();
        assert_eq!(
            r.path().unwrap(),
            "/data/prearchive/projects/P1/20240101_101010123/S1%2Ex"
        );
        assert_eq!(
            r.src().unwrap(),
            "/prearchive/projects/P1/20240101_101010123/S1.x"
        );
        assert!(PrearchiveRef::new("P 1", "T", "S").is_err());
        assert!(PrearchiveRef::new("P", "T", "a/b").is_err());
    }

    #[test]
    fn error_shaped_bodies() {
        assert!(check_body("").is_ok());
        assert!(check_body("/archive/projects/P/subjects/S/experiments/E\r\n").is_ok());
        assert!(check_body("Session already exists").is_err());
        assert!(check_body("Internal Error: boom").is_err());
        assert_eq!(
            experiment_uri("/data/archive/projects/P/subjects/S/experiments/E1\r\n").as_deref(),
            Some("/data/archive/projects/P/subjects/S/experiments/E1")
        );
    }

    #[test]
    fn modes_round_trip() {
        assert_eq!(mode_code("auto-archive"), Some(4));
        assert_eq!(mode_name(5), "auto-archive-overwrite");
        assert_eq!(mode_name(1), "unrecognized (1)");
    }
}
