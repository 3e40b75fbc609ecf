//! Resources and files at project, subject, experiment and scan level (fidelity spec §9):
//! resource listings, create/delete, file listings, single-file download, uploads (raw, multipart,
//! `extract=true`), streamed zip/tar archives, and the catalog refresh service.
//!
//! Every parent shape is routed to one dispatcher that parses the path itself: the same eight
//! operations exist under nine parent URL forms, and one parser is easier to keep faithful than
//! forty-five extractor signatures. Uploads stream to a temporary file under the data directory
//! while the MD5 is computed, then are renamed into place; no body is held in memory.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use futures::StreamExt;
use md5::{Digest, Md5};
use percent_encoding::percent_decode_str;
use tokio::io::AsyncWriteExt;

use crate::access;
use crate::archive::{self, ArchiveEntry, ArchiveFormat};
use crate::envelope::{ok_empty, restlet_error, row, with_type, xml_escape, ResultSet};
use crate::params::{Caller, Params};
use crate::routes::common;
use crate::state::{FileData, FileEntry, Resource, State as SimState};
use crate::AppState;

const PARENTS: &[&str] = &[
    "/data/projects/{project}",
    "/data/projects/{project}/subjects/{subject}",
    "/data/subjects/{subject}",
    "/data/experiments/{experiment}",
    "/data/projects/{project}/experiments/{experiment}",
    "/data/projects/{project}/subjects/{subject}/experiments/{experiment}",
    "/data/experiments/{experiment}/scans/{scan}",
    "/data/projects/{project}/experiments/{experiment}/scans/{scan}",
    "/data/projects/{project}/subjects/{subject}/experiments/{experiment}/scans/{scan}",
];

const SUFFIXES: &[&str] = &[
    "/resources",
    "/resources/{resource}",
    "/resources/{resource}/files",
    "/resources/{resource}/files/{*path}",
    "/files",
];

pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    for p in PARENTS {
        for s in SUFFIXES {
            r = r.route(&format!("{p}{s}"), any(entry));
        }
    }
    r.route("/data/services/refresh/catalog", post(refresh_catalog))
        .layer(DefaultBodyLimit::disable())
}

/// Which object owns a resource list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Project(String),
    Subject(String),
    Experiment(String),
    Scan(String, String),
}

pub fn resources<'a>(st: &'a SimState, t: &Target) -> Option<&'a Vec<Resource>> {
    match t {
        Target::Project(p) => st.projects.get(p).map(|p| &p.resources),
        Target::Subject(s) => st.subjects.get(s).map(|s| &s.resources),
        Target::Experiment(e) => st.experiments.get(e).map(|e| &e.resources),
        Target::Scan(e, s) => st
            .experiments
            .get(e)
            .and_then(|e| e.scan(s))
            .map(|s| &s.resources),
    }
}

pub fn resources_mut<'a>(st: &'a mut SimState, t: &Target) -> Option<&'a mut Vec<Resource>> {
    match t {
        Target::Project(p) => st.projects.get_mut(p).map(|p| &mut p.resources),
        Target::Subject(s) => st.subjects.get_mut(s).map(|s| &mut s.resources),
        Target::Experiment(e) => st.experiments.get_mut(e).map(|e| &mut e.resources),
        Target::Scan(e, s) => st
            .experiments
            .get_mut(e)
            .and_then(|e| e.scan_mut(s))
            .map(|s| &mut s.resources),
    }
}

/// A resource by label, else by numeric ID.
pub fn find_resource<'a>(list: &'a [Resource], key: &str) -> Option<&'a Resource> {
    list.iter()
        .find(|r| r.label == key)
        .or_else(|| list.iter().find(|r| r.id.to_string() == key))
}

fn find_resource_idx(list: &[Resource], key: &str) -> Option<usize> {
    list.iter()
        .position(|r| r.label == key)
        .or_else(|| list.iter().position(|r| r.id.to_string() == key))
}

/// The parent part of a request path (raw keys as they appear in the URL).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ParentPath {
    pub project: Option<String>,
    pub subject: Option<String>,
    pub experiment: Option<String>,
    pub scan: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    None,
    Resources,
    Resource(String),
    ResourceFiles(String),
    ResourceFile(String, String),
    Files,
}

/// Split `/data/...` into the parent and what follows it. Segments are percent-decoded.
pub fn parse_path(path: &str) -> Option<(ParentPath, Tail)> {
    let segs: Vec<String> = path
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let mut it = segs.iter().map(String::as_str).peekable();
    if it.next()? != "data" {
        return None;
    }
    let mut p = ParentPath::default();
    match it.next()? {
        "projects" => {
            p.project = Some(it.next()?.to_string());
            if it.peek() == Some(&"subjects") {
                it.next();
                p.subject = Some(it.next()?.to_string());
            }
            if it.peek() == Some(&"experiments") {
                it.next();
                p.experiment = Some(it.next()?.to_string());
            }
        }
        "subjects" => p.subject = Some(it.next()?.to_string()),
        "experiments" => p.experiment = Some(it.next()?.to_string()),
        _ => return None,
    }
    if p.experiment.is_some() && it.peek() == Some(&"scans") {
        it.next();
        p.scan = Some(it.next()?.to_string());
    }
    let rest: Vec<&str> = it.collect();
    let tail = match rest.as_slice() {
        [] => Tail::None,
        ["resources"] => Tail::Resources,
        ["resources", r] => Tail::Resource(r.to_string()),
        ["resources", r, "files"] => Tail::ResourceFiles(r.to_string()),
        ["resources", r, "files", file @ ..] => Tail::ResourceFile(r.to_string(), file.join("/")),
        ["files"] => Tail::Files,
        _ => return None,
    };
    Some((p, tail))
}

/// One level whose resources an operation touches.
#[derive(Debug, Clone)]
pub struct Scope {
    pub target: Target,
    /// `/data/experiments/XNAT_E00001/scans/1` etc. (accession IDs).
    pub uri_base: String,
    pub category: &'static str,
    pub cat_id: String,
    pub cat_desc: String,
    /// Archive directory before `resources/` (`MR1/scans/1-T1`).
    pub zip_dir: String,
    /// Archive directory in the `simplified` structure (`MR1/scans/1`).
    pub zip_dir_simple: String,
}

#[derive(Debug, Clone)]
pub struct Resolved {
    /// The addressed level first, then (for sessions) its scans.
    pub scopes: Vec<Scope>,
    /// How many leading scopes are the addressed level itself (several for `scans/1,2`).
    pub own: usize,
    pub project: String,
    /// Archive file name stem: session label, subject label or project ID.
    pub archive_name: String,
}

/// Non-word characters of a scan type become `_` in archive directory names.
pub fn sanitize_type(t: &str) -> String {
    t.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn resolve(st: &SimState, caller: &Caller, p: &ParentPath) -> Result<Resolved, Response> {
    if let Some(ekey) = &p.experiment {
        let eid = common::resolve_experiment_path(
            st,
            caller,
            p.project.as_deref(),
            p.subject.as_deref(),
            ekey,
        )?;
        let e = &st.experiments[&eid];
        let session = e.label.clone();
        let scan_scope = |s: &crate::state::Scan| {
            let dir = if s.scan_type.is_empty() {
                s.id.clone()
            } else {
                format!("{}-{}", s.id, sanitize_type(&s.scan_type))
            };
            Scope {
                target: Target::Scan(eid.clone(), s.id.clone()),
                uri_base: format!("/data/experiments/{}/scans/{}", eid, s.id),
                category: "scans",
                cat_id: s.id.clone(),
                cat_desc: s.scan_type.clone(),
                zip_dir: format!("{session}/scans/{dir}"),
                zip_dir_simple: format!("{session}/scans/{}", s.id),
            }
        };
        if let Some(sel) = &p.scan {
            let mut scopes: Vec<Scope> = Vec::new();
            for item in sel.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let picked: Vec<&crate::state::Scan> = if item.eq_ignore_ascii_case("ALL") {
                    e.scans.iter().collect()
                } else if let Some(s) = e.scan(item) {
                    vec![s]
                } else {
                    e.scans.iter().filter(|s| s.scan_type == item).collect()
                };
                for s in picked {
                    if !scopes.iter().any(|x| x.cat_id == s.id) {
                        scopes.push(scan_scope(s));
                    }
                }
            }
            if scopes.is_empty() {
                return Err(restlet_error(
                    StatusCode::NOT_FOUND,
                    "Unable to find the specified scan.",
                ));
            }
            let own = scopes.len();
            return Ok(Resolved {
                scopes,
                own,
                project: e.project.clone(),
                archive_name: session,
            });
        }
        let mut scopes = vec![Scope {
            target: Target::Experiment(eid.clone()),
            uri_base: format!("/data/experiments/{eid}"),
            category: "resources",
            cat_id: String::new(),
            cat_desc: String::new(),
            zip_dir: session.clone(),
            zip_dir_simple: session.clone(),
        }];
        scopes.extend(e.scans.iter().map(scan_scope));
        return Ok(Resolved {
            scopes,
            own: 1,
            project: e.project.clone(),
            archive_name: session,
        });
    }
    if let Some(skey) = &p.subject {
        let (subject, base) = match &p.project {
            Some(pk) => {
                let pid = common::readable_project(st, caller, pk)?;
                let s = common::resolve_subject(st, &pid, skey)
                    .ok_or_else(|| common::subject_not_found(Some(&pid), skey))?;
                (s, format!("/data/projects/{pid}/subjects/{}", s.id))
            }
            None => {
                let s = st
                    .subjects
                    .get(skey)
                    .filter(|s| access::can_read_subject(st, caller, s))
                    .ok_or_else(|| common::subject_not_found(None, skey))?;
                (s, format!("/data/projects/{}/subjects/{}", s.project, s.id))
            }
        };
        return Ok(Resolved {
            scopes: vec![Scope {
                target: Target::Subject(subject.id.clone()),
                uri_base: base,
                category: "resources",
                cat_id: String::new(),
                cat_desc: String::new(),
                zip_dir: subject.label.clone(),
                zip_dir_simple: subject.label.clone(),
            }],
            own: 1,
            project: subject.project.clone(),
            archive_name: subject.label.clone(),
        });
    }
    let pk = p.project.as_deref().unwrap_or_default();
    let pid = common::readable_project(st, caller, pk)?;
    Ok(Resolved {
        scopes: vec![Scope {
            target: Target::Project(pid.clone()),
            uri_base: format!("/data/projects/{pid}"),
            category: "resources",
            cat_id: String::new(),
            cat_desc: String::new(),
            zip_dir: pid.clone(),
            zip_dir_simple: pid.clone(),
        }],
        own: 1,
        project: pid.clone(),
        archive_name: pid,
    })
}

fn can_edit(st: &SimState, caller: &Caller, project: &str) -> bool {
    st.projects
        .get(project)
        .is_some_and(|p| access::can_edit(caller, p))
}

async fn entry(State(app): State<AppState>, caller: Caller, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let params = Params::parse(req.uri().query());
    let Some((parent, tail)) = parse_path(&path) else {
        return restlet_error(StatusCode::NOT_FOUND, "");
    };
    let resolved = {
        let st = app.read();
        match resolve(&st, &caller, &parent) {
            Ok(r) => r,
            Err(resp) => return resp,
        }
    };
    let method = req.method().clone();
    match (method, tail) {
        (Method::GET, Tail::Resources) => list_resources(&app, &resolved, &params),
        (Method::GET, Tail::Resource(r)) => catalog(&app, &resolved, &r),
        (Method::PUT | Method::POST, Tail::Resource(r)) => {
            create_resource(&app, &caller, &resolved, &r, &params)
        }
        (Method::DELETE, Tail::Resource(r)) => delete_resource(&app, &caller, &resolved, &r),
        (Method::GET, Tail::ResourceFiles(r)) => files_get(&app, &resolved, Some(&r), &params),
        (Method::GET, Tail::Files) => files_get(&app, &resolved, None, &params),
        (Method::GET, Tail::ResourceFile(r, rel)) => download(&app, &resolved, &r, &rel, &params),
        (Method::PUT | Method::POST, Tail::ResourceFiles(r)) => {
            upload(&app, &caller, &resolved, &r, None, &params, req).await
        }
        (Method::PUT | Method::POST, Tail::ResourceFile(r, rel)) => {
            upload(&app, &caller, &resolved, &r, Some(rel), &params, req).await
        }
        (Method::DELETE, Tail::ResourceFile(r, rel)) => {
            delete_files(&app, &caller, &resolved, &r, &rel)
        }
        _ => restlet_error(StatusCode::METHOD_NOT_ALLOWED, ""),
    }
}

fn list_resources(app: &AppState, r: &Resolved, params: &Params) -> Response {
    let st = app.read();
    let n = if params.flag("all") {
        r.scopes.len()
    } else {
        r.own
    };
    let mut rows = Vec::new();
    for scope in &r.scopes[..n] {
        for res in resources(&st, &scope.target).into_iter().flatten() {
            rows.push(row([
                ("xnat_abstractresource_id", res.id.to_string()),
                ("label", res.label.clone()),
                ("element_name", "xnat:resourceCatalog".to_string()),
                ("category", scope.category.to_string()),
                ("cat_id", scope.cat_id.clone()),
                ("cat_desc", scope.cat_desc.clone()),
                ("file_count", res.file_count().to_string()),
                ("file_size", res.file_size().to_string()),
                ("tags", res.tags.clone()),
                ("content", res.content.clone()),
                ("format", res.format.clone()),
            ]));
        }
    }
    ResultSet::new(rows)
        .meta("title", "Resources")
        .with_total()
        .respond(params.format().as_deref())
}

fn catalog_missing() -> Response {
    restlet_error(
        StatusCode::NOT_FOUND,
        "Unable to find the specified catalog.",
    )
}

fn catalog(app: &AppState, r: &Resolved, key: &str) -> Response {
    let st = app.read();
    let Some(res) = resources(&st, &r.scopes[0].target).and_then(|l| find_resource(l, key)) else {
        return catalog_missing();
    };
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<cat:Catalog xmlns:cat=\"http://nrg.wustl.edu/catalog\" ID=\"{}\"><cat:entries>",
        res.id
    );
    for (rel, f) in &res.files {
        xml.push_str(&format!(
            "<cat:entry URI=\"{0}\" ID=\"{0}\" name=\"{1}\" digest=\"{2}\" size=\"{3}\"/>",
            xml_escape(rel),
            xml_escape(base_name(rel)),
            f.digest,
            f.size
        ));
    }
    xml.push_str("</cat:entries></cat:Catalog>\n");
    with_type(StatusCode::OK, "text/xml", xml)
}

fn new_resource(id: u64, label: &str, params: &Params) -> Resource {
    Resource {
        id,
        label: label.to_string(),
        format: params.get("format").unwrap_or("").to_string(),
        content: params.get("content").unwrap_or("").to_string(),
        tags: params.get("tags").unwrap_or("").to_string(),
        files: Default::default(),
    }
}

fn create_resource(
    app: &AppState,
    caller: &Caller,
    r: &Resolved,
    label: &str,
    params: &Params,
) -> Response {
    let mut st = app.write();
    if !can_edit(&st, caller, &r.project) {
        return restlet_error(StatusCode::FORBIDDEN, "");
    }
    let target = r.scopes[0].target.clone();
    if resources(&st, &target).is_some_and(|l| l.iter().any(|x| x.label == label)) {
        return restlet_error(StatusCode::CONFLICT, "Specified resource already exists.");
    }
    let id = st.next_resource_id();
    // `format=` here is the resource format, not the response format.
    let res = new_resource(id, label, params);
    match resources_mut(&mut st, &target) {
        Some(list) => {
            list.push(res);
            ok_empty()
        }
        None => restlet_error(StatusCode::NOT_FOUND, ""),
    }
}

fn delete_resource(app: &AppState, caller: &Caller, r: &Resolved, key: &str) -> Response {
    let removed = {
        let mut st = app.write();
        if !can_edit(&st, caller, &r.project) {
            return restlet_error(StatusCode::FORBIDDEN, "");
        }
        let Some(list) = resources_mut(&mut st, &r.scopes[0].target) else {
            return catalog_missing();
        };
        let Some(i) = find_resource_idx(list, key) else {
            return catalog_missing();
        };
        list.remove(i)
    };
    crate::routes::remove_paths(&crate::routes::disk_paths(&[removed]));
    ok_empty()
}

fn base_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// `Content-Type` XNAT derives from a file extension.
pub fn content_type_for(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "txt" | "log" | "csv" => "text/plain",
        "xml" => "text/xml",
        "json" => "application/json",
        "html" | "htm" => "text/html",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "zip" => "application/zip",
        "gz" => "application/x-gzip",
        _ => "application/octet-stream",
    }
}

/// `(scope index, resource)` pairs an operation covers; `key` narrows to one resource label.
fn selected<'a>(
    st: &'a SimState,
    r: &'a Resolved,
    key: Option<&str>,
) -> Vec<(&'a Scope, &'a Resource)> {
    let scopes = match key {
        Some(_) => &r.scopes[..r.own],
        None => &r.scopes[..],
    };
    let mut out = Vec::new();
    for scope in scopes {
        let Some(list) = resources(st, &scope.target) else {
            continue;
        };
        match key {
            Some(k) => {
                if let Some(res) = find_resource(list, k) {
                    out.push((scope, res));
                }
            }
            None => out.extend(list.iter().map(|res| (scope, res))),
        }
    }
    out
}

fn files_get(app: &AppState, r: &Resolved, key: Option<&str>, params: &Params) -> Response {
    let format = params.format();
    if let Some(af) = format.as_deref().and_then(ArchiveFormat::parse) {
        return archive_response(app, r, key, params, af);
    }
    let st = app.read();
    let picked = selected(&st, r, key);
    if key.is_some() && picked.is_empty() {
        return catalog_missing();
    }
    let wanted_content = params.get("file_content");
    let wanted_format = params.get("file_format");
    let mut rows = Vec::new();
    for (scope, res) in picked {
        if wanted_content.is_some_and(|c| c != res.content)
            || wanted_format.is_some_and(|f| f != res.format)
        {
            continue;
        }
        for (rel, f) in &res.files {
            rows.push(row([
                ("Name", base_name(rel).to_string()),
                ("Size", f.size.to_string()),
                (
                    "URI",
                    format!("{}/resources/{}/files/{}", scope.uri_base, res.id, rel),
                ),
                ("collection", res.label.clone()),
                ("file_tags", String::new()),
                ("file_format", res.format.clone()),
                ("file_content", res.content.clone()),
                ("cat_ID", res.id.to_string()),
                ("digest", f.digest.clone()),
            ]));
        }
    }
    ResultSet::new(rows)
        .columns(serde_json::json!([{"key": "URI", "serverRoot": ""}]))
        .meta("title", "Files")
        .respond(format.as_deref())
}

/// Archive entry names for the selection, in the requested `structure`.
pub fn archive_entries(
    st: &SimState,
    r: &Resolved,
    key: Option<&str>,
    structure: Option<&str>,
) -> Vec<ArchiveEntry> {
    let mut out = Vec::new();
    for (scope, res) in selected(st, r, key) {
        for (rel, f) in &res.files {
            let name = match structure {
                Some("simplified") => format!("{}/{}/{}", scope.zip_dir_simple, res.label, rel),
                _ => format!("{}/resources/{}/files/{}", scope.zip_dir, res.label, rel),
            };
            out.push(ArchiveEntry {
                name,
                size: f.size,
                data: f.data.clone(),
            });
        }
    }
    out
}

fn attachment(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("attachment; filename=\"{name}\";"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment;"))
}

fn archive_response(
    app: &AppState,
    r: &Resolved,
    key: Option<&str>,
    params: &Params,
    format: ArchiveFormat,
) -> Response {
    let entries = {
        let st = app.read();
        archive_entries(&st, r, key, params.get("structure"))
    };
    if entries.is_empty() {
        if params.flag("accept-not-found") {
            return StatusCode::NO_CONTENT.into_response();
        }
        return restlet_error(StatusCode::NOT_FOUND, "");
    }
    let (stream, length) = match archive::stream(entries, format) {
        Ok(x) => x,
        Err(_) => {
            return restlet_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Archive too large for the simulator (zip64 is not implemented).",
            )
        }
    };
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        attachment(&format!("{}.{}", r.archive_name, format.extension())),
    );
    if let Some(n) = length {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    resp
}

fn download(app: &AppState, r: &Resolved, key: &str, rel: &str, params: &Params) -> Response {
    let found = {
        let st = app.read();
        resources(&st, &r.scopes[0].target)
            .and_then(|l| find_resource(l, key))
            .and_then(|res| res.files.get(rel).cloned())
    };
    let Some(f) = found else {
        if params.flag("accept-not-found") {
            return StatusCode::NO_CONTENT.into_response();
        }
        return restlet_error(StatusCode::NOT_FOUND, "Unable to find file.");
    };
    let mut resp = Body::from_stream(archive::stream_file(f.data.clone(), f.size)).into_response();
    let h = resp.headers_mut();
    let ct = if f.content_type.is_empty() {
        content_type_for(rel)
    } else {
        &f.content_type
    };
    if let Ok(v) = HeaderValue::from_str(ct) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(f.size));
    if params.flag("attachment") {
        h.insert(header::CONTENT_DISPOSITION, attachment(base_name(rel)));
    }
    resp
}

/// A file received into a temporary path, not yet part of any resource.
#[derive(Debug)]
pub struct Incoming {
    pub rel: String,
    pub tmp: PathBuf,
    pub size: u64,
    pub digest: String,
}

pub fn tmp_path(data_dir: &Path) -> PathBuf {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    data_dir.join("tmp").join(format!("upload-{n:016x}"))
}

/// Write a byte stream to a new temporary file, hashing as it goes.
pub async fn receive_stream<S, E>(
    data_dir: &Path,
    mut stream: S,
) -> std::io::Result<(PathBuf, u64, String)>
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let tmp = tmp_path(data_dir);
    tokio::fs::create_dir_all(tmp.parent().expect("tmp has a parent")).await?;
    let mut file = tokio::fs::File::create(&tmp).await?;
    let mut md5 = Md5::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(std::io::Error::other(e.to_string()));
            }
        };
        md5.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    Ok((tmp, size, hex::encode(md5.finalize())))
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

fn no_data() -> Response {
    restlet_error(
        StatusCode::BAD_REQUEST,
        "You tried to PUT to this service, but didn't provide any data. Try using inbody=true or use multipart/form-data.",
    )
}

/// The uploaded file(s) of a request: multipart parts (named by `rel` or their file names) or the
/// raw body (named by `rel`).
pub async fn receive_files(
    data_dir: &Path,
    req: Request,
    rel: Option<&str>,
) -> Result<Vec<(String, PathBuf, u64, String)>, Response> {
    let mut out = Vec::new();
    if is_multipart(req.headers()) {
        let mut mp = axum::extract::Multipart::from_request(req, &())
            .await
            .map_err(|e| restlet_error(StatusCode::BAD_REQUEST, &e.body_text()))?;
        loop {
            let field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(restlet_error(StatusCode::BAD_REQUEST, &e.body_text())),
            };
            let name = match (out.is_empty(), rel) {
                (true, Some(r)) => r.to_string(),
                _ => field
                    .file_name()
                    .or(field.name())
                    .unwrap_or("upload")
                    .to_string(),
            };
            let (tmp, size, digest) = receive_stream(data_dir, field)
                .await
                .map_err(|e| restlet_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
            out.push((name, tmp, size, digest));
        }
    } else {
        let (tmp, size, digest) = receive_stream(data_dir, req.into_body().into_data_stream())
            .await
            .map_err(|e| restlet_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
        match rel {
            Some(r) if size > 0 => out.push((r.to_string(), tmp, size, digest)),
            _ => {
                let _ = std::fs::remove_file(&tmp);
            }
        }
    }
    if out.is_empty() {
        return Err(no_data());
    }
    Ok(out)
}

/// Relative paths must stay inside the resource.
pub fn safe_rel(rel: &str) -> Option<String> {
    let parts: Vec<&str> = rel
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") {
        return None;
    }
    Some(parts.join("/"))
}

/// Hash a file on disk.
pub fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = std::io::Read::read(&mut f, &mut buf)?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex::encode(md5.finalize())))
}

/// Unpack a zip, tar or tar.gz into temporary files named `{dir}/{entry path}`.
pub fn extract_archive(
    data_dir: &Path,
    archive: &Path,
    dir: &str,
) -> Result<Vec<Incoming>, String> {
    let mut head = [0u8; 4];
    {
        let mut f = std::fs::File::open(archive).map_err(|e| e.to_string())?;
        let _ = std::io::Read::read(&mut f, &mut head);
    }
    let prefix = |name: &str| -> Option<String> {
        let rel = safe_rel(name)?;
        Some(if dir.is_empty() {
            rel
        } else {
            format!("{dir}/{rel}")
        })
    };
    let mut out = Vec::new();
    let mut save = |name: String, reader: &mut dyn std::io::Read| -> Result<(), String> {
        let tmp = tmp_path(data_dir);
        let mut file = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
        let mut md5 = Md5::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            md5.update(&buf[..n]);
            size += n as u64;
            std::io::Write::write_all(&mut file, &buf[..n]).map_err(|e| e.to_string())?;
        }
        out.push(Incoming {
            rel: name,
            tmp,
            size,
            digest: hex::encode(md5.finalize()),
        });
        Ok(())
    };
    let file = std::fs::File::open(archive).map_err(|e| e.to_string())?;
    if &head == b"PK\x03\x04" {
        let mut z = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
        for i in 0..z.len() {
            let mut e = z.by_index(i).map_err(|e| e.to_string())?;
            if e.is_dir() {
                continue;
            }
            let Some(name) = prefix(e.name()) else {
                continue;
            };
            save(name, &mut e)?;
        }
    } else {
        let reader: Box<dyn std::io::Read> = if head[..2] == [0x1f, 0x8b] {
            Box::new(flate2::read::GzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let mut t = tar::Archive::new(reader);
        for e in t.entries().map_err(|e| e.to_string())? {
            let mut e = e.map_err(|e| e.to_string())?;
            if e.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let name = e.path().map_err(|e| e.to_string())?.display().to_string();
            let Some(name) = prefix(&name) else {
                continue;
            };
            save(name, &mut e)?;
        }
    }
    Ok(out)
}

/// Final on-disk home of a resource file.
pub fn stored_path(data_dir: &Path, resource_id: u64, rel: &str) -> PathBuf {
    data_dir
        .join("files")
        .join(resource_id.to_string())
        .join(rel)
}

/// Move received files into resource `label` of `target` (created when missing). Returns the
/// relative paths skipped as duplicates (when `overwrite` is false).
pub fn commit_files(
    st: &mut SimState,
    target: &Target,
    label: &str,
    params: &Params,
    incoming: Vec<Incoming>,
    overwrite: bool,
) -> Result<Vec<String>, Response> {
    let exists = resources(st, target).ok_or_else(catalog_missing)?;
    let new_id = match find_resource(exists, label) {
        Some(_) => None,
        None => Some(st.next_resource_id()),
    };
    let data_dir = st.data_dir.clone();
    let list = resources_mut(st, target).ok_or_else(catalog_missing)?;
    if let Some(id) = new_id {
        list.push(new_resource(id, label, params));
    }
    let idx = find_resource_idx(list, label).expect("resource exists now");
    let res = &mut list[idx];
    if new_id.is_none() {
        for key in ["format", "content"] {
            if let Some(v) = params.get(key) {
                match key {
                    "format" => res.format = v.to_string(),
                    _ => res.content = v.to_string(),
                }
            }
        }
    }
    let mut dups = Vec::new();
    for inc in incoming {
        if res.files.contains_key(&inc.rel) && !overwrite {
            let _ = std::fs::remove_file(&inc.tmp);
            dups.push(inc.rel);
            continue;
        }
        let dest = stored_path(&data_dir, res.id, &inc.rel);
        if let Some(parent) = dest.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(e) = std::fs::rename(&inc.tmp, &dest) {
            return Err(restlet_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &e.to_string(),
            ));
        }
        let old = res.files.insert(
            inc.rel.clone(),
            FileEntry {
                size: inc.size,
                digest: inc.digest,
                content_type: content_type_for(&inc.rel).to_string(),
                data: FileData::Disk(dest.clone()),
            },
        );
        if let Some(FileEntry {
            data: FileData::Disk(p),
            ..
        }) = old
        {
            if p != dest {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    Ok(dups)
}

async fn upload(
    app: &AppState,
    caller: &Caller,
    r: &Resolved,
    label: &str,
    rel: Option<String>,
    params: &Params,
    req: Request,
) -> Response {
    let data_dir = {
        let st = app.read();
        if !can_edit(&st, caller, &r.project) {
            return restlet_error(StatusCode::FORBIDDEN, "");
        }
        st.data_dir.clone()
    };
    let rel = match rel.as_deref().map(safe_rel) {
        Some(None) => return restlet_error(StatusCode::BAD_REQUEST, "Invalid file path."),
        Some(Some(r)) => Some(r),
        None => None,
    };
    let received = match receive_files(&data_dir, req, rel.as_deref()).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let mut incoming = Vec::new();
    for (name, tmp, size, digest) in received {
        let Some(name) = safe_rel(&name) else {
            let _ = std::fs::remove_file(&tmp);
            continue;
        };
        if params.flag("extract") && is_archive_name(&name) {
            let dir = match name.rsplit_once('/') {
                Some((d, _)) => d.to_string(),
                None => String::new(),
            };
            let dd = data_dir.clone();
            let t = tmp.clone();
            let extracted =
                tokio::task::spawn_blocking(move || extract_archive(&dd, &t, &dir)).await;
            let _ = std::fs::remove_file(&tmp);
            match extracted {
                Ok(Ok(files)) => incoming.extend(files),
                Ok(Err(e)) => {
                    return restlet_error(
                        StatusCode::BAD_REQUEST,
                        &format!("Unable to extract archive: {e}"),
                    )
                }
                Err(e) => return restlet_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
        } else {
            incoming.push(Incoming {
                rel: name,
                tmp,
                size,
                digest,
            });
        }
    }
    let overwrite = params.flag("overwrite");
    let dups = {
        let mut st = app.write();
        match commit_files(
            &mut st,
            &r.scopes[0].target,
            label,
            params,
            incoming,
            overwrite,
        ) {
            Ok(d) => d,
            Err(resp) => return resp,
        }
    };
    if dups.is_empty() {
        ok_empty()
    } else {
        // XNAT answers a duplicate upload with 200 and a JSON list of the names it kept
        // (FileList#handlePost), served as text/html; the stored files are not replaced.
        let body = serde_json::json!({ "duplicates": dups }).to_string();
        (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "text/html")],
            body,
        )
            .into_response()
    }
}

fn is_archive_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with(".zip") || n.ends_with(".tar.gz") || n.ends_with(".tgz") || n.ends_with(".tar")
}

fn delete_files(app: &AppState, caller: &Caller, r: &Resolved, key: &str, rel: &str) -> Response {
    let removed: Vec<FileEntry> = {
        let mut st = app.write();
        if !can_edit(&st, caller, &r.project) {
            return restlet_error(StatusCode::FORBIDDEN, "");
        }
        let Some(list) = resources_mut(&mut st, &r.scopes[0].target) else {
            return catalog_missing();
        };
        let Some(i) = find_resource_idx(list, key) else {
            return catalog_missing();
        };
        let res = &mut list[i];
        let folder = format!("{}/", rel.trim_end_matches('/'));
        let keys: Vec<String> = res
            .files
            .keys()
            .filter(|k| *k == rel || k.starts_with(&folder))
            .cloned()
            .collect();
        keys.iter().filter_map(|k| res.files.remove(k)).collect()
    };
    if removed.is_empty() {
        return restlet_error(StatusCode::NOT_FOUND, "No matched files");
    }
    for f in removed {
        if let FileData::Disk(p) = f.data {
            let _ = std::fs::remove_file(p);
        }
    }
    ok_empty()
}

/// `POST /data/services/refresh/catalog?resource=<uri>&options=...` (spec §9.6). Existing
/// targets answer 200; `checksum`/`populateStats` re-read stored files.
async fn refresh_catalog(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> Response {
    let mut params = Params::parse(uri.query());
    params.merge_form(&headers, &body);
    let options: Vec<String> = params
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("options"))
        .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string()))
        .collect();
    let rehash = options
        .iter()
        .any(|o| o == "checksum" || o == "populateStats")
        || params.flag("checksum")
        || params.flag("populateStats");
    let targets: Vec<String> = params
        .iter()
        .filter(|(k, _)| *k == "resource")
        .map(|(_, v)| v.to_string())
        .collect();
    if targets.is_empty() {
        return restlet_error(StatusCode::BAD_REQUEST, "Missing resource parameter.");
    }
    for t in targets {
        let t = t.trim_start_matches("/data");
        let t = t.strip_prefix("/archive").unwrap_or(t);
        let Some((parent, tail)) = parse_path(&format!("/data{t}")) else {
            return restlet_error(StatusCode::BAD_REQUEST, &format!("Invalid resource: {t}"));
        };
        let mut st = app.write();
        let resolved = match resolve(&st, &caller, &parent) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        if !can_edit(&st, &caller, &resolved.project) {
            return restlet_error(StatusCode::FORBIDDEN, "");
        }
        let key = match &tail {
            Tail::Resource(k) | Tail::ResourceFiles(k) => Some(k.clone()),
            _ => None,
        };
        let scopes = if key.is_some() {
            &resolved.scopes[..resolved.own]
        } else {
            &resolved.scopes[..]
        };
        let mut matched = key.is_none();
        for scope in scopes {
            let Some(list) = resources_mut(&mut st, &scope.target) else {
                continue;
            };
            for res in list.iter_mut() {
                if key
                    .as_deref()
                    .is_some_and(|k| k != res.label && k != res.id.to_string())
                {
                    continue;
                }
                matched = true;
                if rehash {
                    for f in res.files.values_mut() {
                        if let FileData::Disk(p) = &f.data {
                            if let Ok((size, digest)) = hash_file(p) {
                                f.size = size;
                                f.digest = digest;
                            }
                        }
                    }
                }
            }
        }
        if !matched {
            return catalog_missing();
        }
    }
    ok_empty()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod http_tests;
