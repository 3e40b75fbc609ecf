//! Bulk transfers: streamed downloads and lazy pagination.
//!
//! Archives from XNAT can be many gigabytes, so bodies are streamed chunk by chunk (memory stays
//! flat), written next to the destination and renamed only when complete: a failed or cancelled
//! download never leaves a truncated file where a good one is expected.

use std::collections::VecDeque;
use std::path::Path;

use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use reqwest::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use reqwest::Method;
use serde_json::{Map, Value};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{rows_from, XnatClient};
use crate::core::error::{Error, Result};
use crate::core::progress::Progress;

/// What a finished download produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOutcome {
    /// Bytes written.
    pub bytes: u64,
    /// MD5 of the bytes written, lowercase hex.
    pub md5: String,
}

/// The body length the server promised, when it is meaningful (no content encoding).
fn expected_length(resp: &reqwest::Response) -> Option<u64> {
    let encoded = resp
        .headers()
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("identity"));
    if encoded {
        return None;
    }
    resp.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

fn mid_body_error(path: &str, written: u64, err: reqwest::Error) -> Error {
    let err = err.without_url();
    let mut why = err.to_string();
    let mut cur = std::error::Error::source(&err);
    while let Some(e) = cur {
        why.push_str(": ");
        why.push_str(&e.to_string());
        cur = e.source();
    }
    if err.is_timeout() {
        Error::Timeout(format!("GET {path} stalled after {written} bytes: {why}"))
    } else {
        Error::Download(format!(
            "incomplete download of {path}: connection lost after {written} bytes: {why}"
        ))
    }
}

impl XnatClient {
    /// Stream `GET path?params` into `dest`, through a temporary file in the same directory.
    ///
    /// Retries apply only until the response headers arrive; a failure mid-body is final. A body
    /// shorter or longer than its `Content-Length` is [`Error::Download`]. `dest` appears only
    /// after the data is complete and flushed to disk.
    pub async fn download_to_file(
        &self,
        path: &str,
        params: &[(&str, &str)],
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<DownloadOutcome> {
        let label = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dest.display().to_string());
        let resp = self
            .request(Method::GET, path)
            .query_pairs(params.iter().copied())
            .send()
            .await?;
        let expected = expected_length(&resp);
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let ctx = || format!("writing {}", dest.display());
        // The temporary file deletes itself when dropped, so an error, a panic or a cancelled
        // future all clean up without extra code.
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{label}."))
            .suffix(".part")
            .tempfile_in(&dir)
            .map_err(|e| Error::io(ctx(), e))?;
        let (file, tmp_path) = tmp.into_parts();
        let mut file = tokio::fs::File::from_std(file);

        progress.begin(&label, expected);
        let result = async {
            let mut hasher = Md5::new();
            let mut written: u64 = 0;
            let mut body = resp.bytes_stream();
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| mid_body_error(path, written, e))?;
                file.write_all(&chunk)
                    .await
                    .map_err(|e| Error::io(ctx(), e))?;
                hasher.update(&chunk);
                written += chunk.len() as u64;
                progress.advance(chunk.len() as u64);
            }
            if let Some(expected) = expected.filter(|n| *n > 0) {
                if written != expected {
                    return Err(Error::Download(format!(
                        "incomplete download of {path}: got {written} of {expected} bytes"
                    )));
                }
            }
            file.flush().await.map_err(|e| Error::io(ctx(), e))?;
            file.sync_all().await.map_err(|e| Error::io(ctx(), e))?;
            Ok(DownloadOutcome {
                bytes: written,
                md5: hex::encode(hasher.finalize()),
            })
        }
        .await;
        progress.finish(&label);
        let outcome = result?;
        drop(file);
        tmp_path
            .persist(dest)
            .map_err(|e| Error::io(format!("renaming into {}", dest.display()), e.error))?;
        Ok(outcome)
    }

    /// Stream `GET path?params` into `writer`; returns the number of bytes written.
    ///
    /// Like [`XnatClient::download_to_file`], a body that does not match its `Content-Length`
    /// is an error (the writer has then received a partial body).
    pub async fn stream_to_writer(
        &self,
        path: &str,
        params: &[(&str, &str)],
        writer: &mut (dyn AsyncWrite + Unpin + Send),
    ) -> Result<u64> {
        let resp = self
            .request(Method::GET, path)
            .query_pairs(params.iter().copied())
            .send()
            .await?;
        let expected = expected_length(&resp);
        let mut written: u64 = 0;
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| mid_body_error(path, written, e))?;
            writer
                .write_all(&chunk)
                .await
                .map_err(|e| Error::io("writing the response body", e))?;
            written += chunk.len() as u64;
        }
        writer
            .flush()
            .await
            .map_err(|e| Error::io("writing the response body", e))?;
        if let Some(expected) = expected.filter(|n| *n > 0) {
            if written != expected {
                return Err(Error::Download(format!(
                    "incomplete download of {path}: got {written} of {expected} bytes"
                )));
            }
        }
        Ok(written)
    }

    /// Rows of a listing fetched lazily, `page_size` at a time, with XNAT's `offset`/`limit`.
    ///
    /// `result_key` is a dotted path to the rows (`ResultSet.Result` or a bare array when `None`).
    /// A page is requested only when the consumer pulls past the rows already fetched, and a
    /// short page ends the stream. An error is yielded once and ends the stream.
    pub fn paginate(
        &self,
        path: &str,
        params: &[(&str, &str)],
        page_size: usize,
        result_key: Option<&str>,
    ) -> impl Stream<Item = Result<Map<String, Value>>> + Send + 'static {
        struct Pages {
            client: XnatClient,
            path: String,
            params: Vec<(String, String)>,
            page_size: usize,
            key: Option<String>,
            offset: usize,
            buffered: VecDeque<Map<String, Value>>,
            first_of_last_page: Option<Map<String, Value>>,
            seen: std::collections::HashSet<u64>,
            max_rows: usize,
            done: bool,
        }
        let state = Pages {
            client: self.clone(),
            path: path.to_string(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            page_size: page_size.max(1),
            key: result_key.map(str::to_string),
            offset: 0,
            buffered: VecDeque::new(),
            first_of_last_page: None,
            seen: std::collections::HashSet::new(),
            max_rows: self.inner.max_listing_rows,
            done: false,
        };
        futures::stream::unfold(state, |mut st| async move {
            if let Some(row) = st.buffered.pop_front() {
                return Some((Ok(row), st));
            }
            if st.done {
                return None;
            }
            let fetched = async {
                let bytes = st
                    .client
                    .request(Method::GET, &st.path)
                    .query_pairs(st.params.iter().cloned())
                    .query("offset", st.offset.to_string())
                    .query("limit", st.page_size.to_string())
                    .query("format", "json")
                    .read()
                    .await?;
                let value = super::rows::parse_json(&bytes, &st.path)?;
                Ok::<_, Error>(rows_from(value, st.key.as_deref()))
            }
            .await;
            match fetched {
                Err(e) => {
                    st.done = true;
                    Some((Err(e), st))
                }
                Ok(rows) => {
                    // Many XNAT routes ignore offset/limit. A page longer than asked for, or one
                    // starting with the previous page's first row, means the server sent the whole
                    // listing: keep it once and stop rather than loop over it forever.
                    if st.first_of_last_page.is_some()
                        && rows.first() == st.first_of_last_page.as_ref()
                    {
                        return None;
                    }
                    // A server that pages forever is stopped two ways: a page with no row not seen
                    // before ends the listing, and past `max_listing_rows` the listing fails
                    // rather than grow without bound. XNAT's `totalRecords` cannot serve as the
                    // end: it counts the rows of one answer and is left out when paging.
                    let mut fresh = 0;
                    for r in &rows {
                        if st.seen.insert(row_hash(r)) {
                            fresh += 1;
                        }
                    }
                    if !rows.is_empty() && fresh == 0 {
                        return None;
                    }
                    if st.offset + rows.len() > st.max_rows {
                        st.done = true;
                        return Some((
                            Err(Error::Operation(format!(
                                "{} kept sending pages: stopped after {} rows (the most a listing may hold)",
                                st.path, st.max_rows
                            ))),
                            st,
                        ));
                    }
                    if rows.len() != st.page_size {
                        st.done = true;
                    }
                    st.first_of_last_page = rows.first().cloned();
                    st.offset += rows.len();
                    st.buffered.extend(rows);
                    let row = st.buffered.pop_front()?;
                    Some((Ok(row), st))
                }
            }
        })
    }
}

/// A row's identity for "seen before" (its JSON text, hashed).
fn row_hash(row: &Map<String, Value>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(row).unwrap_or_default().hash(&mut h);
    h.finish()
}
