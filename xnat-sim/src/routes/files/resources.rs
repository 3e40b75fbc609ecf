//! Resource listings, resource create/delete, file listings and file deletes.

use axum::http::StatusCode;
use axum::response::Response;

use crate::archive::ArchiveFormat;
use crate::envelope::{ok_empty, restlet_error, row, ResultSet};
use crate::params::{Caller, Params};
use crate::state::{FileData, FileEntry, Resource, State as SimState};
use crate::AppState;

use super::catalog::catalog_missing;
use super::download::archive_response;
use super::resolve::{
    can_edit, find_resource, find_resource_idx, resources, resources_mut, Resolved, Scope,
};

pub(super) fn list_resources(app: &AppState, r: &Resolved, params: &Params) -> Response {
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

pub(super) fn new_resource(id: u64, label: &str, params: &Params) -> Resource {
    Resource {
        id,
        label: label.to_string(),
        format: params.get("format").unwrap_or("").to_string(),
        content: params.get("content").unwrap_or("").to_string(),
        tags: params.get("tags").unwrap_or("").to_string(),
        files: Default::default(),
    }
}

pub(super) fn create_resource(
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

pub(super) fn delete_resource(
    app: &AppState,
    caller: &Caller,
    r: &Resolved,
    key: &str,
) -> Response {
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

pub(super) fn base_name(rel: &str) -> &str {
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
pub(super) fn selected<'a>(
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

pub(super) fn files_get(
    app: &AppState,
    r: &Resolved,
    key: Option<&str>,
    params: &Params,
) -> Response {
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

pub(super) fn delete_files(
    app: &AppState,
    caller: &Caller,
    r: &Resolved,
    key: &str,
    rel: &str,
) -> Response {
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
