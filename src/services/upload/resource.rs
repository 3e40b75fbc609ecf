//! Files and directories into a resource (`resource upload`, and the attach step of
//! `upload-exam`). A directory is zipped into a temporary file and sent with `extract=true`, so
//! the server unpacks it with the relative paths kept.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use reqwest::Method;

use super::{check, member_name, scan::walk, work_dir};
use crate::core::client::{seg, XnatClient};
use crate::core::validation;
use crate::core::{Error, Result};

/// Content type by file name. `.tar.gz` is recognised (the reference looked at the last suffix
/// only and sent it as octet-stream).
pub fn content_type_for(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") || lower.ends_with(".tar") {
        return "application/x-tar";
    }
    match lower.rsplit_once('.').map(|(_, e)| e) {
        Some("zip") => "application/zip",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        Some("txt") | Some("csv") => "text/plain",
        _ => "application/octet-stream",
    }
}

/// One `resource upload`.
#[derive(Debug, Clone)]
pub struct ResourceUpload {
    /// The owner path, e.g. `/data/projects/P/experiments/E` (already encoded).
    pub owner: String,
    /// Resource label.
    pub label: String,
    /// A file or a directory.
    pub path: PathBuf,
    /// `content=` for a new resource.
    pub content: Option<String>,
    /// `format=` for a new resource.
    pub format: Option<String>,
    /// Replace files the resource already has (`overwrite=true`); without it XNAT keeps its
    /// copies, which is a failure when they differ from what was sent.
    pub overwrite: bool,
    /// Read the server's file list back and compare every file sent (`--no-check` turns this
    /// off; files the server reports as duplicates are always compared).
    pub check: bool,
}

/// What landed.
#[derive(Debug, Clone, Default)]
pub struct ResourceReport {
    /// Files sent (1 for a file, the directory's file count for a directory).
    pub files: usize,
    /// Bytes of the body sent (file size, or the zip's size).
    pub bytes: u64,
    /// Names the server reported as duplicates (kept, not replaced).
    pub duplicates: Vec<String>,
}

/// Upload the file or directory into the resource, which the upload itself creates when missing.
///
/// No separate `PUT .../resources/{label}` first: XNAT's file upload creates a missing resource
/// and gives it the `format`/`content` sent with the upload (`ResourceModifierA.addFile` ->
/// `createCatalog` with the request's resource info), so a real server is spared one round trip.
/// The reference then listed the resources and failed with "not found" when a slow server did
/// not show the new one yet; that check is gone too.
pub async fn upload_to_resource(
    client: &XnatClient,
    req: &ResourceUpload,
) -> Result<ResourceReport> {
    let label = validation::validate_resource_label(&req.label)?;
    let meta = std::fs::metadata(&req.path).map_err(|e| Error::InvalidPath {
        value: req.path.display().to_string(),
        reason: e.to_string(),
    })?;
    let resource = format!("{}/resources/{}", req.owner, seg(&label)?);

    let mut report = ResourceReport::default();
    let _tmp;
    let mut local_files = Vec::new();
    let (body_path, name, extract) = if meta.is_dir() {
        let dir_name = req
            .path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "upload".into());
        let tmp = work_dir("xnatctl_resource_")?;
        let zip_path = tmp.path().join(format!("{dir_name}.zip"));
        let (src, dest) = (req.path.clone(), zip_path.clone());
        local_files = tokio::task::spawn_blocking(move || zip_dir(&src, &dest))
            .await
            .map_err(|source| Error::UploadTask {
                what: "zip",
                source,
            })??;
        report.files = local_files.len();
        _tmp = tmp;
        (zip_path, format!("{dir_name}.zip"), true)
    } else {
        report.files = 1;
        let name = req
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::InvalidPath {
                value: req.path.display().to_string(),
                reason: "has no file name".into(),
            })?;
        (req.path.clone(), name, false)
    };
    report.bytes = std::fs::metadata(&body_path).map(|m| m.len()).unwrap_or(0);
    let mut put = client
        .request(Method::PUT, &format!("{resource}/files/{}", seg(&name)?))
        .query("inbody", "true");
    if extract {
        put = put.query("extract", "true");
    }
    if req.overwrite {
        put = put.query("overwrite", "true");
    }
    if let Some(f) = &req.format {
        put = put.query("format", f);
    }
    if let Some(c) = &req.content {
        put = put.query("content", c);
    }
    let resp = put
        .file(&body_path, content_type_for(&name))
        .send()
        .await
        .map_err(|e| match e {
            Error::Http { .. } | Error::Network(_) | Error::Timeout(_) => {
                Error::Upload(e.to_string())
            }
            other => other,
        })?;
    let text = resp.text().await.unwrap_or_default();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
        if let Some(d) = v.get("duplicates").and_then(|d| d.as_array()) {
            report.duplicates = d
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
        }
    }
    if req.check || !report.duplicates.is_empty() {
        let (base, files) = if extract {
            (Some(req.path.clone()), local_files)
        } else {
            (None, vec![req.path.clone()])
        };
        let sent =
            tokio::task::spawn_blocking(move || check::describe_local(base.as_deref(), &files))
                .await
                .map_err(|source| Error::UploadTask {
                    what: "hashing",
                    source,
                })??;
        let on_server = check::server_files(client, &resource).await?;
        let problems = check::compare(&sent, &on_server, &report.duplicates, !req.check);
        if !problems.is_empty() {
            return Err(Error::Upload(check::summarize(&problems, sent.len())));
        }
    }
    Ok(report)
}

/// Zip every non-hidden file below `dir` into `dest` (paths relative to `dir`); returns the
/// files zipped.
pub(crate) fn zip_dir(dir: &Path, dest: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    walk(dir, &mut |p, _| files.push(p.to_path_buf()))?;
    zip_files(dir, &files, dest, false)?;
    Ok(files)
}

/// Zip `files` into `dest`, names relative to `base` (or base names when `flatten`).
pub(crate) fn zip_files(base: &Path, files: &[PathBuf], dest: &Path, flatten: bool) -> Result<()> {
    let io = |e: std::io::Error| Error::io(format!("writing {}", dest.display()), e);
    let out = BufWriter::new(std::fs::File::create(dest).map_err(io)?);
    let mut zip = zip::ZipWriter::new(out);
    for f in files {
        let mut src =
            std::fs::File::open(f).map_err(|e| Error::io(format!("reading {}", f.display()), e))?;
        let len = src.metadata().map(|m| m.len()).unwrap_or(0);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(len >= u32::MAX as u64);
        let name = if flatten {
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            member_name(base, f)
        };
        zip.start_file(name, opts)
            .map_err(|source| Error::UploadZip { source })?;
        std::io::copy(&mut src, &mut zip).map_err(io)?;
    }
    zip.finish()
        .map_err(|source| Error::UploadZip { source })?
        .flush()
        .map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_name() {
        assert_eq!(content_type_for("x.tar.gz"), "application/x-tar");
        assert_eq!(content_type_for("x.TGZ"), "application/x-tar");
        assert_eq!(content_type_for("x.zip"), "application/zip");
        assert_eq!(content_type_for("notes.CSV"), "text/plain");
        assert_eq!(content_type_for("x.nii.gz"), "application/octet-stream");
        assert_eq!(content_type_for("README"), "application/octet-stream");
    }
}
