//! Uploads: streaming receive with MD5, multipart, archive extraction, and commit into resources.

use std::io::{Read, Write};
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

pub fn is_multipart(headers: &HeaderMap) -> bool {
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

/// Fill `buf` from `r` as far as it goes (short only at the end of the stream), so files are
/// written in large blocks however small the network chunks are.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Writes archive members to temporary files, each hashed while it is written (one pass over the
/// bytes), and removes what it wrote when the archive turns out to be broken.
struct Extractor<'a> {
    data_dir: &'a Path,
    dir: &'a str,
    buf: Vec<u8>,
    out: Vec<Incoming>,
}

impl<'a> Extractor<'a> {
    fn new(data_dir: &'a Path, dir: &'a str) -> Self {
        Extractor {
            data_dir,
            dir,
            buf: vec![0u8; 256 * 1024],
            out: Vec::new(),
        }
    }

    /// `{dir}/{entry path}`, or None for names escaping the resource.
    fn name(&self, entry: &str) -> Option<String> {
        let rel = safe_rel(entry)?;
        Some(if self.dir.is_empty() {
            rel
        } else {
            format!("{}/{rel}", self.dir)
        })
    }

    fn save(&mut self, name: String, reader: &mut dyn Read) -> Result<(), String> {
        let tmp = tmp_path(self.data_dir);
        let mut file = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
        let mut md5 = Md5::new();
        let mut size = 0u64;
        let written = loop {
            let n = match read_full(reader, &mut self.buf) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) => break Err(e.to_string()),
            };
            md5.update(&self.buf[..n]);
            size += n as u64;
            if let Err(e) = file.write_all(&self.buf[..n]) {
                break Err(e.to_string());
            }
        };
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        self.out.push(Incoming {
            rel: name,
            tmp,
            size,
            digest: hex::encode(md5.finalize()),
        });
        Ok(())
    }

    /// The regular files of a tar read front to back (nothing is buffered beyond one block).
    fn tar(&mut self, reader: impl Read) -> Result<(), String> {
        let mut t = tar::Archive::new(reader);
        for e in t.entries().map_err(|e| e.to_string())? {
            let mut e = e.map_err(|e| e.to_string())?;
            if e.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let name = e.path().map_err(|e| e.to_string())?.display().to_string();
            let Some(name) = self.name(&name) else {
                continue;
            };
            self.save(name, &mut e)?;
        }
        Ok(())
    }

    fn zip(&mut self, file: std::fs::File) -> Result<(), String> {
        let mut z = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
        for i in 0..z.len() {
            let mut e = z.by_index(i).map_err(|e| e.to_string())?;
            if e.is_dir() {
                continue;
            }
            let Some(name) = self.name(e.name()) else {
                continue;
            };
            self.save(name, &mut e)?;
        }
        Ok(())
    }

    /// The extracted files, or the error after removing them.
    fn finish(self, r: Result<(), String>) -> Result<Vec<Incoming>, String> {
        match r {
            Ok(()) => Ok(self.out),
            Err(e) => {
                for i in &self.out {
                    let _ = std::fs::remove_file(&i.tmp);
                }
                Err(e)
            }
        }
    }
}

fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
}

fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// Unpack a zip, tar or tar.gz into temporary files named `{dir}/{entry path}`.
pub fn extract_archive(
    data_dir: &Path,
    archive: &Path,
    dir: &str,
) -> Result<Vec<Incoming>, String> {
    let mut head = [0u8; 4];
    let mut file = std::fs::File::open(archive).map_err(|e| e.to_string())?;
    let n = read_full(&mut file, &mut head).map_err(|e| e.to_string())?;
    std::io::Seek::rewind(&mut file).map_err(|e| e.to_string())?;
    let mut x = Extractor::new(data_dir, dir);
    let r = if is_zip(&head[..n]) {
        x.zip(file)
    } else if is_gzip(&head[..n]) {
        x.tar(flate2::read::GzDecoder::new(file))
    } else {
        x.tar(file)
    };
    x.finish(r)
}

/// A blocking [`Read`] over body chunks sent from async code through a bounded channel, so a
/// tar can be unpacked on a blocking thread while it arrives.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, String>>,
    cur: bytes::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        bytes::Buf::advance(&mut self.cur, n);
        Ok(n)
    }
}

/// Why [`extract_stream`] produced nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamExtractError {
    /// The body was empty.
    Empty,
    /// The body could not be stored or read as an archive.
    Archive(String),
}

/// Unpack a zip, tar or tar.gz request body into temporary files named `{dir}/{entry path}`.
///
/// A tar or tar.gz is unpacked while it arrives: its bytes are written once, straight into the
/// member files (hashed on the way), never stored as an archive first; memory stays at a few
/// chunks. A zip needs its central directory (at the end), so it is stored first.
pub async fn extract_stream<S, E>(
    data_dir: &Path,
    mut stream: S,
    dir: &str,
) -> Result<Vec<Incoming>, StreamExtractError>
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let archive_err = |e: String| StreamExtractError::Archive(e);
    let mut head = bytes::BytesMut::new();
    while head.len() < 4 {
        match stream.next().await {
            Some(Ok(c)) => head.extend_from_slice(&c),
            Some(Err(e)) => return Err(archive_err(e.to_string())),
            None => break,
        }
    }
    if head.is_empty() {
        return Err(StreamExtractError::Empty);
    }
    let head = head.freeze();
    let (dd, dir) = (data_dir.to_path_buf(), dir.to_string());
    if is_zip(&head) {
        let rest = futures::stream::iter([Ok::<_, E>(head)]).chain(stream);
        let (tmp, _, _) = receive_stream(data_dir, rest)
            .await
            .map_err(|e| archive_err(e.to_string()))?;
        let t = tmp.clone();
        let out = tokio::task::spawn_blocking(move || extract_archive(&dd, &t, &dir)).await;
        let _ = std::fs::remove_file(&tmp);
        return out
            .map_err(|e| archive_err(e.to_string()))?
            .map_err(archive_err);
    }
    std::fs::create_dir_all(data_dir.join("tmp")).map_err(|e| archive_err(e.to_string()))?;
    let gz = is_gzip(&head);
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let worker = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader { rx, cur: head };
        let mut x = Extractor::new(&dd, &dir);
        let r = if gz {
            x.tar(flate2::read::GzDecoder::new(reader))
        } else {
            x.tar(reader)
        };
        x.finish(r)
    });
    while let Some(chunk) = stream.next().await {
        let failed = chunk.is_err();
        // A send error means the extractor stopped (broken archive): stop reading.
        if tx.send(chunk.map_err(|e| e.to_string())).await.is_err() || failed {
            break;
        }
    }
    drop(tx);
    worker
        .await
        .map_err(|e| archive_err(e.to_string()))?
        .map_err(archive_err)
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

#[cfg(test)]
mod stream_tests;
