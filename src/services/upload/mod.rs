//! Uploads into XNAT: DICOM sessions through the import service (one archive, a directory in
//! parallel tar/zip batches, or file by file with the gradual-DICOM handler), files and
//! directories into resources, and whole exam folders (`upload-exam`).
//!
//! Everything is streamed from disk: a directory is cut into batches and each batch is written
//! into its own temporary archive, sent with a file body (re-opened for every retry) and deleted,
//! so memory does not grow with the size of the data. Overwrite semantics and why a re-run after
//! an interruption creates no duplicates are described in docs/uploads.md.

mod archive;
pub mod check;
mod exam;
mod gradual;
mod ladder;
mod resource;
mod scan;
pub mod session;

use std::path::PathBuf;

use serde::Serialize;

pub use archive::{plan_batches, upload_archive_file, upload_directory, BatchOutcome, BatchPlan};
pub use exam::{classify_exam, upload_exam, ExamOptions, ExamPlan, ExamPreview, ExamReport};
pub use gradual::{upload_gradual, GradualReport};
pub use ladder::{post_import, ImportBody};
pub use resource::{content_type_for, upload_to_resource, ResourceUpload};
pub use scan::{find_dicom_files, is_dicom_file};
pub use session::{Sending, SessionUpload};

use crate::core::client::XnatClient;
use crate::core::validation;
use crate::core::{Error, Result};
use crate::services::transfer::{Operation, TransferItem, TransferSummary};

/// What the import service does when the session already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overwrite {
    /// Refuse (XNAT answers 409/400 "session already exists").
    None,
    /// Merge into the existing session; files with the same SOP Instance UID replace the old ones.
    Append,
    /// Replace the existing session entirely.
    Delete,
}

impl Overwrite {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Overwrite::None => "none",
            Overwrite::Append => "append",
            Overwrite::Delete => "delete",
        }
    }
}

/// The container built for each batch of a directory upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveFormat {
    /// Uncompressed tar (DICOM barely compresses; tar costs no CPU).
    Tar,
    /// Deflate zip.
    Zip,
}

impl ArchiveFormat {
    /// File extension and import content type.
    pub fn extension(self) -> &'static str {
        match self {
            ArchiveFormat::Tar => "tar",
            ArchiveFormat::Zip => "zip",
        }
    }
}

/// Where imported data goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// `Direct-Archive=true`: straight into the archive.
    DirectArchive,
    /// `dest=/prearchive/projects/<P>`: into the project's prearchive.
    Prearchive,
}

/// A validated project / subject / session triple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Project ID.
    pub project: String,
    /// Subject label.
    pub subject: String,
    /// Session (experiment) label.
    pub session: String,
}

impl Target {
    /// Validate the three identifiers (strict ids, as the reference).
    pub fn new(project: &str, subject: &str, session: &str) -> Result<Self> {
        Ok(Target {
            project: validation::validate_project_id(project)?,
            subject: validation::validate_subject_id(subject)?,
            session: validation::validate_session_id(session)?,
        })
    }
}

/// The import handler, which decides the parameter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `DICOM-zip`: one zip/tar archive per request.
    DicomZip,
    /// `gradual-DICOM`: one DICOM file per request.
    Gradual,
}

/// Settings shared by every import request of one run.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// Destination labels.
    pub target: Target,
    /// Overwrite mode (archive uploads only).
    pub overwrite: Overwrite,
    /// Archive or prearchive.
    pub routing: Routing,
    /// Skip non-DICOM archive members instead of failing.
    pub ignore_unparsable: bool,
}

/// The import query string, keys in the reference's order.
pub fn import_params(settings: &ImportSettings, handler: Handler) -> Vec<(String, String)> {
    let t = &settings.target;
    let mut p: Vec<(&str, String)> = Vec::new();
    match handler {
        Handler::DicomZip => {
            p.push(("import-handler", "DICOM-zip".into()));
            p.push(("Ignore-Unparsable", settings.ignore_unparsable.to_string()));
            p.push(("project", t.project.clone()));
            p.push(("subject", t.subject.clone()));
            p.push(("session", t.session.clone()));
            p.push(("overwrite", settings.overwrite.as_str().into()));
            p.push(("overwrite_files", "true".into()));
            p.push(("quarantine", "false".into()));
            p.push(("triggerPipelines", "true".into()));
            p.push(("rename", "false".into()));
        }
        Handler::Gradual => {
            p.push(("import-handler", "gradual-DICOM".into()));
            p.push(("PROJECT_ID", t.project.clone()));
            p.push(("SUBJECT_ID", t.subject.clone()));
            p.push(("EXPT_LABEL", t.session.clone()));
        }
    }
    p.push(("inbody", "true".into()));
    match settings.routing {
        Routing::DirectArchive => p.push(("Direct-Archive", "true".into())),
        Routing::Prearchive => p.push(("dest", format!("/prearchive/projects/{}", t.project))),
    }
    p.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Direct archive needs XNAT 1.8.3 or later; an unknown or unparsable version lets it proceed.
pub async fn check_direct_archive(client: &XnatClient) -> Result<()> {
    let resp = client
        .request(reqwest::Method::GET, "/xapi/siteConfig/buildInfo/version")
        .max_retries(0)
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await;
    let Ok(resp) = resp else { return Ok(()) };
    let text = resp.text().await.unwrap_or_default();
    let version = text.trim().trim_matches('"');
    if let Some(parsed) = parse_version(version) {
        if parsed < (1, 8, 3) {
            return Err(Error::Upload(format!(
                "direct-archive requires XNAT >= 1.8.3; server reports {version} (use --prearchive)"
            )));
        }
    }
    Ok(())
}

fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let re = regex::Regex::new(r"^(\d+)\.(\d+)(?:\.(\d+))?").expect("static regex");
    let c = re.captures(text)?;
    let n = |i: usize| c.get(i).map_or(Some(0), |m| m.as_str().parse().ok());
    Some((n(1)?, n(2)?, n(3)?))
}

/// The summary of an upload of `source` into `target` (a resource upload has no session):
/// status from `items`, `files` and `bytes` as landed.
pub fn summary(
    source: &str,
    target: Option<&Target>,
    items: Vec<TransferItem>,
    files: Option<usize>,
    bytes: Option<u64>,
    elapsed: std::time::Duration,
) -> TransferSummary {
    let mut s = TransferSummary::new(Operation::Upload, items, elapsed);
    s.session_id = target.map(|t| t.session.clone());
    s.project = target.map(|t| t.project.clone());
    s.source = Some(source.to_string());
    s.files = files;
    s.bytes = bytes;
    s
}

/// Temporary working directory for archives (removed when dropped).
pub(crate) fn work_dir(prefix: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| Error::io("creating a temporary directory", e))
}

/// Path relative to `base` with `/` separators (archive member names).
pub(crate) fn member_name(base: &std::path::Path, path: &std::path::Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// A list of files with their total size.
#[derive(Debug, Clone, Default)]
pub struct FileSet {
    /// The files, sorted.
    pub files: Vec<PathBuf>,
    /// Their summed size.
    pub bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(routing: Routing) -> ImportSettings {
        ImportSettings {
            target: Target::new("P1", "S1", "E1").unwrap(),
            overwrite: Overwrite::Append,
            routing,
            ignore_unparsable: true,
        }
    }

    #[test]
    fn archive_params_in_reference_order() {
        let p = import_params(&settings(Routing::DirectArchive), Handler::DicomZip);
        let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "import-handler",
                "Ignore-Unparsable",
                "project",
                "subject",
                "session",
                "overwrite",
                "overwrite_files",
                "quarantine",
                "triggerPipelines",
                "rename",
                "inbody",
                "Direct-Archive"
            ]
        );
        assert_eq!(p[5].1, "append");
    }

    #[test]
    fn gradual_params_use_upper_case_keys_and_prearchive_dest() {
        let p = import_params(&settings(Routing::Prearchive), Handler::Gradual);
        assert_eq!(p[0], ("import-handler".into(), "gradual-DICOM".into()));
        assert_eq!(p[1], ("PROJECT_ID".into(), "P1".into()));
        assert_eq!(
            p.last().unwrap(),
            &("dest".to_string(), "/prearchive/projects/P1".to_string())
        );
    }

    #[test]
    fn versions_parse_with_suffixes() {
        assert_eq!(parse_version("1.8.10.1"), Some((1, 8, 10)));
        assert_eq!(parse_version("1.8"), Some((1, 8, 0)));
        assert_eq!(parse_version("1.9.0-SNAPSHOT"), Some((1, 9, 0)));
        assert_eq!(parse_version("unknown"), None);
    }

    #[test]
    fn bad_ids_are_refused_before_any_request() {
        assert!(Target::new("P 1", "S", "E").is_err());
        assert!(Target::new("P", "S/..", "E").is_err());
    }
}
