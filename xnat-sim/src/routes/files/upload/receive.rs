//! Receiving upload bodies: raw or multipart, streamed to temporary files under the data
//! directory and hashed on the way, so no body is held in memory.

use std::path::{Path, PathBuf};

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use futures::StreamExt;
use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;

use crate::envelope::restlet_error;

/// A file received into a temporary path, not yet part of any resource.
#[derive(Debug)]
pub struct Incoming {
    pub rel: String,
    pub tmp: PathBuf,
    pub size: u64,
    pub digest: String,
}

/// A fresh, randomly named temporary path under `{data_dir}/tmp`.
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

/// Whether the request body is `multipart/form-data`.
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
