//! Uploads: streaming receive with MD5, multipart, archive extraction, and commit into resources.

use std::path::{Path, PathBuf};

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;

use crate::envelope::{ok_empty, restlet_error};
use crate::params::{Caller, Params};
use crate::state::{FileData, FileEntry, State as SimState};
use crate::AppState;

use super::catalog::catalog_missing;
use super::resolve::{
    can_edit, find_resource, find_resource_idx, resources, resources_mut, Resolved, Target,
};
use super::resources::{content_type_for, new_resource};

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

pub(super) fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

pub(super) fn no_data() -> Response {
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

pub(super) async fn upload(
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

pub(super) fn is_archive_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with(".zip") || n.ends_with(".tar.gz") || n.ends_with(".tgz") || n.ends_with(".tar")
}
