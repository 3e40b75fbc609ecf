//! From a session and filters to the list of files to fetch, each with its local path.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::{seg, XnatClient};
use crate::core::error::{Error, Result};
use crate::core::validation::validate_local_path_component;

/// The session a download is about.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SessionRef {
    /// Accession ID (`XNAT_E00001`).
    pub id: String,
    /// Label, used as the session directory name.
    pub label: String,
    /// Primary project.
    pub project: Option<String>,
    /// Subject accession ID.
    pub subject: Option<String>,
}

/// Which scans to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanSelection {
    /// Every scan of the session.
    All,
    /// These scan IDs (validated).
    Only(Vec<String>),
    /// No scans (session resources only).
    None,
}

/// Resource labels to include (empty = all) or exclude.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceFilter {
    /// Only these labels, when not empty.
    pub include: Vec<String>,
    /// Never these labels.
    pub exclude: Vec<String>,
}

impl ResourceFilter {
    /// Whether a resource with this label is downloaded.
    pub fn allows(&self, label: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|l| l == label))
            && !self.exclude.iter().any(|l| l == label)
    }

    /// `include`, `exclude` or `all`, as the reference's dry-run JSON says it.
    pub fn mode(&self) -> &'static str {
        if !self.include.is_empty() {
            "include"
        } else if !self.exclude.is_empty() {
            "exclude"
        } else {
            "all"
        }
    }
}

/// What to download from a resolved session.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// Scans to include.
    pub scans: ScanSelection,
    /// Resource filter for both scan and session resources.
    pub filter: ResourceFilter,
    /// Also take the session's own resources.
    pub session_resources: bool,
    /// Concurrent listing requests.
    pub workers: usize,
}

/// One file to fetch.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PlannedFile {
    /// The item it belongs to: a scan ID or `resource:<label>`.
    pub item: String,
    /// Server path to GET (the catalog's `URI`).
    pub uri: String,
    /// Path relative to the session directory, `/`-separated.
    pub path: String,
    /// Size from the catalog, when given.
    pub size: Option<u64>,
    /// MD5 from the catalog, when given.
    pub digest: Option<String>,
}

/// Everything a download will do, before it does it.
#[derive(Debug, Clone, Serialize)]
pub struct DownloadPlan {
    /// The session.
    pub session: SessionRef,
    /// `<out>/<session label>`.
    pub session_dir: PathBuf,
    /// Items in order (scan IDs, then `resource:<label>`).
    pub items: Vec<String>,
    /// Resource directories covered, relative to the session dir (for `--verify`).
    pub resource_dirs: Vec<String>,
    /// Files to fetch.
    pub files: Vec<PlannedFile>,
    /// Items whose listing failed, with why.
    pub item_errors: Vec<(String, String)>,
    /// Catalog paths that two files claim (case-insensitively).
    pub collisions: Vec<String>,
    /// The files behind `collisions`: every file whose path another file also claims. None of
    /// them is written (which one would win depends on the file system), and each fails its
    /// item.
    pub collided: Vec<PlannedFile>,
}

impl DownloadPlan {
    /// Total catalog bytes of the planned files.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().filter_map(|f| f.size).sum()
    }

    /// Distinct scans with at least one planned file.
    pub fn scan_count(&self) -> usize {
        self.files
            .iter()
            .filter(|f| !f.item.starts_with("resource:"))
            .map(|f| f.item.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    }
}

fn text(row: &Map<String, Value>, key: &str) -> Option<String> {
    match row.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Resolve `id_or_label` (a label needs the project) through `services::experiments`.
pub async fn resolve_session(
    client: &XnatClient,
    project: Option<&str>,
    id_or_label: &str,
) -> Result<SessionRef> {
    let e = crate::services::experiments::resolve(client, project, id_or_label).await?;
    Ok(SessionRef {
        label: if e.label.is_empty() {
            e.id.clone()
        } else {
            e.label
        },
        id: e.id,
        project: e.project,
        subject: e.subject_id,
    })
}

/// Resolve a session that must belong to `subject` (ID or label) in `project`: the subject is
/// looked up first, then the session, which is NotFound when it belongs to another subject.
pub async fn resolve_session_of_subject(
    client: &XnatClient,
    project: &str,
    subject: &str,
    id_or_label: &str,
) -> Result<SessionRef> {
    let subj = crate::services::subjects::resolve(client, project, subject).await?;
    let session = resolve_session(client, Some(project), id_or_label).await?;
    if session.subject.as_deref() != Some(subj.id.as_str()) {
        return Err(Error::not_found(
            "session",
            format!("{id_or_label} of subject {subject}"),
        ));
    }
    Ok(session)
}

/// Server path of a resource's files (`…/resources/{label}/files`) of a session or one of its
/// scans, for a `?format=zip` archive.
pub fn resource_zip_path(session_id: &str, scan: Option<&str>, label: &str) -> Result<String> {
    let mut path = format!("/data/experiments/{}", seg(session_id)?);
    if let Some(scan) = scan {
        path.push_str(&format!("/scans/{}", seg(scan)?));
    }
    path.push_str(&format!("/resources/{}/files", seg(label)?));
    Ok(path)
}

/// The path of a catalog `URI` relative to the resource (`…/files/<relpath>`), decoded and
/// checked component by component so a hostile catalog cannot point outside the output.
fn relpath_of(uri: &str, name: Option<&str>) -> Result<String> {
    let raw = match uri.find("/files/") {
        Some(i) => &uri[i + "/files/".len()..],
        None => name.unwrap_or(""),
    };
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned();
    let parts: Vec<&str> = decoded.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() || decoded.starts_with('/') || decoded.contains('\\') {
        return Err(Error::InvalidPath {
            value: decoded.clone(),
            reason: "not a relative file path".into(),
        });
    }
    for p in &parts {
        if *p == "." || *p == ".." || p.contains(':') || p.chars().any(|c| c < '\x20') {
            return Err(Error::InvalidPath {
                value: decoded.clone(),
                reason: "unsafe path component".into(),
            });
        }
    }
    Ok(parts.join("/"))
}

/// The request path of a catalog `URI`: from `/data/` on (a context path is already part of
/// the client's base URL).
fn request_path(uri: &str) -> String {
    match uri.find("/data/") {
        Some(i) => uri[i..].to_string(),
        None => uri.to_string(),
    }
}

/// Resource directories covered and files found under one parent.
type Listed = (Vec<String>, Vec<PlannedFile>);

async fn list_resource_files(
    client: &XnatClient,
    parent: &str,
    item: &str,
    dir_prefix: &str,
    filter: &ResourceFilter,
) -> Result<Listed> {
    let rows = match client.list_rows(&format!("{parent}/resources"), &[]).await {
        Ok(rows) => rows,
        Err(Error::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for row in rows {
        let Some(label) = text(&row, "label") else {
            continue;
        };
        if !filter.allows(&label) {
            continue;
        }
        validate_local_path_component(&label)?;
        let dir = format!("{dir_prefix}resources/{label}/files");
        let listing = client
            .list_rows(&format!("{parent}/resources/{}/files", seg(&label)?), &[])
            .await?;
        for f in listing {
            let name = text(&f, "Name");
            let uri = text(&f, "URI").ok_or_else(|| {
                Error::Download(format!(
                    "the catalog of {item}/{label} has a row without URI"
                ))
            })?;
            let rel = relpath_of(&uri, name.as_deref())?;
            files.push(PlannedFile {
                item: item.to_string(),
                uri: request_path(&uri),
                path: format!("{dir}/{rel}"),
                size: text(&f, "Size").and_then(|s| s.parse().ok()),
                digest: text(&f, "digest").map(|d| d.to_ascii_lowercase()),
            });
        }
        dirs.push(dir);
    }
    Ok((dirs, files))
}

/// The scan ID in a catalog `URI` (`…/scans/{SCAN}/resources/…`), decoded.
fn scan_of_uri(uri: &str) -> Option<String> {
    let rest = &uri[uri.find("/scans/")? + "/scans/".len()..];
    let raw = rest.split('/').next()?;
    Some(
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// Every file of the selected scans from ONE listing (`…/scans/ALL/files?format=json`, or
/// `…/scans/1,2,3/files`; fidelity spec §9.2-9.3), instead of one resource listing per scan and
/// one file listing per resource: on a real server each request costs tens to hundreds of
/// milliseconds. `None` when the server's rows lack what the plan needs (no `collection`
/// label, a URI without its scan), or the listing fails: the caller then lists per scan.
async fn list_scans_at_once(
    client: &XnatClient,
    exp: &str,
    scans: &ScanSelection,
    ids: &[String],
    filter: &ResourceFilter,
) -> Option<HashMap<String, Listed>> {
    let selector = match scans {
        ScanSelection::All => "ALL".to_string(),
        _ => ids
            .iter()
            .map(|id| seg(id))
            .collect::<Result<Vec<_>>>()
            .ok()?
            .join(","),
    };
    let rows = match client
        .list_rows(&format!("{exp}/scans/{selector}/files"), &[])
        .await
    {
        Ok(rows) => rows,
        // No file in any selected scan (or none of them exists).
        Err(Error::NotFound { .. }) => Vec::new(),
        Err(e) => {
            tracing::info!(error = %e, "one listing for all scans failed; listing per scan");
            return None;
        }
    };
    // Only the selected scans (a type selector may add others); every scan of the rows when
    // all are selected (`ids` empty: the scan listing runs alongside).
    let mut by_scan: HashMap<String, Listed> = ids
        .iter()
        .map(|id| (id.clone(), (Vec::new(), Vec::new())))
        .collect();
    for f in rows {
        let uri = text(&f, "URI")?;
        let label = text(&f, "collection")?;
        let scan = scan_of_uri(&uri)?;
        if !ids.is_empty() && !by_scan.contains_key(&scan) {
            continue;
        }
        if validate_local_path_component(&scan).is_err() {
            return None;
        }
        let (dirs, files) = by_scan.entry(scan.clone()).or_default();
        if !filter.allows(&label) || validate_local_path_component(&label).is_err() {
            continue;
        }
        let rel = relpath_of(&uri, text(&f, "Name").as_deref()).ok()?;
        let dir = format!("scans/{scan}/resources/{label}/files");
        if !dirs.contains(&dir) {
            dirs.push(dir.clone());
        }
        files.push(PlannedFile {
            item: scan,
            uri: request_path(&uri),
            path: format!("{dir}/{rel}"),
            size: text(&f, "Size").and_then(|s| s.parse().ok()),
            digest: text(&f, "digest").map(|d| d.to_ascii_lowercase()),
        });
    }
    Some(by_scan)
}

/// Scan IDs must be usable as folder names, and distinct even case-insensitively.
fn check_scan_ids(ids: &[String]) -> Result<()> {
    for id in ids {
        validate_local_path_component(id)?;
    }
    let mut seen = HashMap::new();
    for id in ids {
        if let Some(other) = seen.insert(id.to_lowercase(), id.clone()) {
            return Err(Error::TransferConflict(format!(
                "scan IDs {other} and {id} differ only in case and would share a folder"
            )));
        }
    }
    Ok(())
}

/// What the scan listings of a session answered (see [`list_scans`]).
struct ScanListing {
    /// The scan listing (every scan selected) or the selected IDs.
    scan_ids: Result<Vec<String>>,
    /// The one listing of every selected scan's files, when it worked.
    at_once: Option<HashMap<String, Listed>>,
}

/// The scan listing and the one listing of every selected scan's files, sent together: neither
/// depends on the other, so they cost one round trip. `exp` is the session's `/data/...` path.
async fn list_scans(client: &XnatClient, exp: &str, req: &PlanRequest) -> ScanListing {
    match &req.scans {
        ScanSelection::None => ScanListing {
            scan_ids: Ok(Vec::new()),
            at_once: Some(HashMap::new()),
        },
        ScanSelection::Only(ids) => {
            // Refused IDs make no request at all.
            if let Err(e) = check_scan_ids(ids) {
                return ScanListing {
                    scan_ids: Err(e),
                    at_once: None,
                };
            }
            let ids = ids.clone();
            let at_once = list_scans_at_once(client, exp, &req.scans, &ids, &req.filter).await;
            ScanListing {
                scan_ids: Ok(ids),
                at_once,
            }
        }
        ScanSelection::All => {
            let scans_path = format!("{exp}/scans");
            let (scans, at_once) = tokio::join!(
                client.list_rows(&scans_path, &[]),
                list_scans_at_once(client, exp, &req.scans, &[], &req.filter)
            );
            ScanListing {
                scan_ids: scans.map(|rows| rows.iter().filter_map(|r| text(r, "ID")).collect()),
                at_once,
            }
        }
    }
}

/// Resolve the session and plan its download, with the listings sent together with the
/// session lookup when they can be: a session named by its accession ID (no project given, or
/// a value shaped like an accession ID) is listed at `/data/experiments/{ID}/…` while it is
/// being resolved, so on a real server the plan costs one round trip instead of two. The
/// listings are used only when the lookup confirms they are of that session (its ID is the value
/// given); otherwise the session is listed again by its ID, as [`build_plan`] does.
pub async fn plan_session(
    client: &XnatClient,
    project: Option<&str>,
    id_or_label: &str,
    out: &Path,
    req: &PlanRequest,
) -> Result<DownloadPlan> {
    let speculate = (project.is_none()
        || crate::services::experiments::looks_like_accession_id(id_or_label))
        && seg(id_or_label).is_ok();
    if !speculate {
        let session = resolve_session(client, project, id_or_label).await?;
        return build_plan(client, session, out, req).await;
    }
    let exp = format!("/data/experiments/{}", seg(id_or_label)?);
    let (session, listing) = tokio::join!(
        resolve_session(client, project, id_or_label),
        list_scans(client, &exp, req)
    );
    let session = session?;
    if session.id != id_or_label {
        return build_plan(client, session, out, req).await;
    }
    assemble_plan(client, session, out, req, listing).await
}

/// List scans, resources and files, and map each file to its local path.
///
/// The files of all selected scans come from one listing ([`list_scans_at_once`]); only when
/// that is not possible are they listed per scan, where a failure for one scan marks that item
/// failed and the plan goes on. Failing to list the scans at all is an error.
pub async fn build_plan(
    client: &XnatClient,
    session: SessionRef,
    out: &Path,
    req: &PlanRequest,
) -> Result<DownloadPlan> {
    let exp = format!("/data/experiments/{}", seg(&session.id)?);
    let listing = list_scans(client, &exp, req).await;
    assemble_plan(client, session, out, req, listing).await
}

/// The plan from the scan listings ([`list_scans`]): per-scan listings where the one listing
/// did not work, the session's resources when asked for, and the collision check.
async fn assemble_plan(
    client: &XnatClient,
    session: SessionRef,
    out: &Path,
    req: &PlanRequest,
    listing: ScanListing,
) -> Result<DownloadPlan> {
    let exp = format!("/data/experiments/{}", seg(&session.id)?);
    let scan_ids = listing.scan_ids?;
    check_scan_ids(&scan_ids)?;
    validate_local_path_component(&session.label)?;
    let at_once = if scan_ids.is_empty() {
        Some(HashMap::new())
    } else {
        listing.at_once
    };
    let listed: Vec<(String, Result<Listed>)> = match at_once {
        Some(mut by_scan) => scan_ids
            .iter()
            .map(|id| (id.clone(), Ok(by_scan.remove(id).unwrap_or_default())))
            .collect(),
        None => {
            futures::stream::iter(scan_ids.iter().cloned())
                .map(|id| {
                    let exp = exp.clone();
                    async move {
                        let parent = format!("{exp}/scans/{}", seg(&id)?);
                        let prefix = format!("scans/{id}/");
                        let r =
                            list_resource_files(client, &parent, &id, &prefix, &req.filter).await;
                        Ok::<_, Error>((id, r))
                    }
                })
                .buffered(req.workers.max(1))
                .try_collect()
                .await?
        }
    };

    let mut plan = DownloadPlan {
        session_dir: out.join(&session.label),
        session,
        items: Vec::new(),
        resource_dirs: Vec::new(),
        files: Vec::new(),
        item_errors: Vec::new(),
        collisions: Vec::new(),
        collided: Vec::new(),
    };
    for (id, r) in listed {
        plan.items.push(id.clone());
        match r {
            Ok((dirs, files)) => {
                plan.resource_dirs.extend(dirs);
                plan.files.extend(files);
            }
            Err(e) => plan.item_errors.push((id, e.to_string())),
        }
    }
    if req.session_resources {
        let (dirs, mut files) = list_resource_files(client, &exp, "", "", &req.filter).await?;
        for f in &mut files {
            let label = f.path.split('/').nth(1).unwrap_or_default().to_string();
            f.item = format!("resource:{label}");
        }
        for d in &dirs {
            let label = d.split('/').nth(1).unwrap_or_default();
            plan.items.push(format!("resource:{label}"));
        }
        plan.resource_dirs.extend(dirs);
        plan.files.extend(files);
    }
    let mut keys = HashMap::new();
    let mut dropped = BTreeSet::new();
    for (i, f) in plan.files.iter().enumerate() {
        if let Some(j) = keys.insert(f.path.to_lowercase(), i) {
            plan.collisions.push(f.path.clone());
            dropped.insert(i);
            dropped.insert(j);
        }
    }
    if !dropped.is_empty() {
        let (collided, kept) = std::mem::take(&mut plan.files)
            .into_iter()
            .enumerate()
            .partition::<Vec<_>, _>(|(i, _)| dropped.contains(i));
        plan.collided = collided.into_iter().map(|(_, f)| f).collect();
        plan.files = kept.into_iter().map(|(_, f)| f).collect();
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relpath_keeps_subfolders_and_refuses_escapes() {
        let uri = "/data/experiments/E1/scans/1/resources/12/files/sub/dir/a%20b.dcm";
        assert_eq!(relpath_of(uri, None).unwrap(), "sub/dir/a b.dcm");
        for bad in [
            "/data/x/files/../../etc/passwd",
            "/data/x/files/a/%2e%2e/b",
            "/data/x/files/",
            "/data/x/files/c:/x",
        ] {
            assert!(relpath_of(bad, None).is_err(), "{bad}");
        }
        assert_eq!(relpath_of("weird", Some("n.dcm")).unwrap(), "n.dcm");
    }

    #[test]
    fn the_scan_of_a_catalog_uri() {
        assert_eq!(
            scan_of_uri("/data/experiments/E/scans/1%2Fb/resources/12/files/a").as_deref(),
            Some("1/b")
        );
        assert_eq!(
            scan_of_uri("/data/experiments/E/scans/7/resources/12/files/a").as_deref(),
            Some("7")
        );
        assert_eq!(scan_of_uri("/data/experiments/E/resources/1/files/a"), None);
    }

    #[test]
    fn request_path_drops_a_context_root() {
        assert_eq!(
            request_path("/xnat/data/experiments/E/x"),
            "/data/experiments/E/x"
        );
        assert_eq!(
            request_path("/data/experiments/E/x"),
            "/data/experiments/E/x"
        );
    }

    #[test]
    fn filter_include_and_exclude() {
        let f = ResourceFilter {
            include: vec!["DICOM".into()],
            exclude: vec![],
        };
        assert!(f.allows("DICOM") && !f.allows("NIFTI"));
        assert_eq!(f.mode(), "include");
        let f = ResourceFilter {
            include: vec![],
            exclude: vec!["SNAPSHOTS".into()],
        };
        assert!(f.allows("DICOM") && !f.allows("SNAPSHOTS"));
        assert_eq!(ResourceFilter::default().mode(), "all");
    }
}
