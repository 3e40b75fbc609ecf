//! Committing received files into a resource: the resource is created when missing, files move
//! to their final on-disk home, and duplicates are kept or replaced per `overwrite`.

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use axum::response::Response;

use crate::envelope::restlet_error;
use crate::params::Params;
use crate::state::{FileData, FileEntry, State as SimState};

use super::super::catalog::catalog_missing;
use super::super::resolve::{find_resource, find_resource_idx, resources, resources_mut, Target};
use super::super::resources::{content_type_for, new_resource};
use super::receive::Incoming;

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
