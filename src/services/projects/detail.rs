//! One project: the `project show` detail and project creation (the create XML and its checks).

use crate::core::output::Item;
use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::{seg, XnatClient};
use crate::core::validation::validate_project_id;
use crate::core::{Error, Result};

use super::listing::cell;

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

impl Item for ProjectDetail {
    const ID: &'static str = "id";
    const LABELS: &'static [(&'static str, &'static str)] =
        &[("id", "ID"), ("secondary_id", "Secondary ID"), ("pi", "PI")];
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
    // The detail and the two counts are independent: sent together, one round trip on a real
    // server. The counts ask for the ID column only (XNAT adds URI), not every default column.
    let (subjects_path, sessions_path) =
        (format!("{path}/subjects"), format!("{path}/experiments"));
    let ids = [("columns", "ID")];
    let (doc, subjects, sessions) = tokio::join!(
        client.get_json(&path, &[]),
        client.list_rows(&subjects_path, &ids),
        client.list_rows(&sessions_path, &ids)
    );
    let doc = doc.map_err(|e| match e {
        Error::NotFound { .. } => Error::not_found("project", &project),
        other => other,
    })?;
    let f = data_fields(&doc).ok_or_else(|| Error::not_found("project", &project))?;
    let count = |rows: Result<Vec<Map<String, Value>>>| match rows {
        Ok(r) => Value::from(r.len()),
        Err(_) => Value::from("?"),
    };
    let (subjects, sessions) = (count(subjects), count(sessions));
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
