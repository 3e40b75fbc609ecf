//! The resource catalog document and the catalog refresh service (spec §9.6).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::envelope::{ok_empty, restlet_error, with_type, xml_escape};
use crate::params::{Caller, Params};
use crate::state::FileData;
use crate::AppState;

use super::resolve::{
    can_edit, find_resource, parse_path, resolve, resources, resources_mut, Resolved, Tail,
};
use super::resources::base_name;
use super::upload::hash_file;

pub(super) fn catalog_missing() -> Response {
    restlet_error(
        StatusCode::NOT_FOUND,
        "Unable to find the specified catalog.",
    )
}

pub(super) fn catalog(app: &AppState, r: &Resolved, key: &str) -> Response {
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

/// `POST /data/services/refresh/catalog?resource=<uri>&options=...` (spec §9.6). Existing
/// targets answer 200; `checksum`/`populateStats` re-read stored files.
pub(super) async fn refresh_catalog(
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
