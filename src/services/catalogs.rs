//! Catalog refreshes (`POST /data/services/refresh/catalog`): what `admin refresh-catalogs` asks.

use crate::core::client::{seg, XnatClient};
use crate::core::validation::validate_project_id;
use crate::core::Result;

/// An experiment of the project: accession id and subject id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Experiment accession id.
    pub id: String,
    /// Subject accession id.
    pub subject: String,
}

/// The project's experiments that have both an `ID` and a `subject_ID`.
pub async fn targets(client: &XnatClient, project: &str) -> Result<Vec<Target>> {
    let project = validate_project_id(project)?;
    let rows = client
        .list_rows(
            &format!("/data/projects/{}/experiments", seg(&project)?),
            &[("columns", "ID,subject_ID,label")],
        )
        .await?;
    let cell = |r: &serde_json::Map<String, serde_json::Value>, k: &str| {
        r.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    Ok(rows
        .iter()
        .map(|r| Target {
            id: cell(r, "ID"),
            subject: cell(r, "subject_ID"),
        })
        .filter(|t| !t.id.is_empty() && !t.subject.is_empty())
        .collect())
}

/// Ask the server to refresh one experiment's catalogs with `options` (comma-joined).
pub async fn refresh(
    client: &XnatClient,
    project: &str,
    t: &Target,
    options: &[String],
) -> Result<()> {
    let resource = format!(
        "/archive/projects/{project}/subjects/{}/experiments/{}",
        t.subject, t.id
    );
    let joined = options.join(",");
    let mut params = vec![("resource", resource.as_str())];
    if !joined.is_empty() {
        params.push(("options", joined.as_str()));
    }
    client
        .post("/data/services/refresh/catalog", &params)
        .await?;
    Ok(())
}
