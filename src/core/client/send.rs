//! The single send path: auth, retries, re-login on 401 and status mapping live here and only here.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, RETRY_AFTER};
use reqwest::{Method, StatusCode};

use super::request::{Body, RequestBuilder};
use super::XnatClient;
use crate::core::error::{snippet, Error, Result};
use crate::core::retry::{self, Decision, DelaySource, Outcome, RetryPolicy, Transport};

/// The URL as it may appear in logs: no user info, secret-looking query values masked by the
/// same rule as every other message (`core::redact`).
pub(super) fn loggable_url(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    crate::core::redact::redact(u.as_str())
}

/// The causes of an error, joined, without the URL reqwest puts in its own message.
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = e.source();
    }
    parts.join(": ")
}

enum Sent {
    Response(reqwest::Response),
    Failed(reqwest::Error),
}

impl XnatClient {
    /// Turn a transport error that will not be retried into a typed error.
    pub(super) fn transport_error(
        &self,
        method: &Method,
        path: &str,
        err: reqwest::Error,
    ) -> Error {
        let err = err.without_url();
        let kind = retry::transport_kind(&err);
        self.transport_error_of(method, path, kind, &err)
    }

    fn transport_error_of(
        &self,
        method: &Method,
        path: &str,
        kind: Transport,
        err: &reqwest::Error,
    ) -> Error {
        let why = describe(err);
        let partial = if retry::is_idempotent(method) {
            ""
        } else {
            "; the request may have partially executed on the server"
        };
        match kind {
            Transport::Connect => Error::Unreachable {
                url: self.inner.base_url.clone(),
                reason: why,
            },
            Transport::ConnectTimeout => Error::Timeout(format!(
                "could not connect to {} within {}s",
                self.inner.base_url,
                self.inner.connect_timeout.as_secs()
            )),
            Transport::ReadTimeout => {
                Error::Timeout(format!("no answer to {method} {path}: {why}{partial}"))
            }
            Transport::Interrupted | Transport::Body | Transport::Fatal => {
                Error::Network(format!("{method} {path}: {why}{partial}"))
            }
        }
    }

    /// Build one attempt of `req` to `url`, authenticated with `token` or Basic credentials.
    async fn build_attempt(
        &self,
        req: &RequestBuilder,
        url: &url::Url,
        token: Option<&str>,
    ) -> Result<reqwest::RequestBuilder> {
        let mut rb = self.inner.http.request(req.method.clone(), url.clone());
        let mut cookies: Vec<String> = Vec::new();
        if let Some(token) = token {
            cookies.push(format!("JSESSIONID={token}"));
        } else if let (Some(u), Some(p)) = (&self.inner.username, &self.inner.password) {
            rb = rb.basic_auth(u, Some(p));
        }
        for (k, v) in &req.headers {
            if k.eq_ignore_ascii_case("cookie") {
                cookies.push(v.clone());
                continue;
            }
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| Error::InvalidInput(format!("invalid header name: {k}")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| Error::InvalidInput(format!("invalid value for header {k}")))?;
            rb = rb.header(name, value);
        }
        if !cookies.is_empty() {
            let mut value = HeaderValue::from_str(&cookies.join("; "))
                .map_err(|_| Error::InvalidInput("invalid cookie value".into()))?;
            value.set_sensitive(true);
            rb = rb.header(COOKIE, value);
        }
        if let Some(t) = req.timeout {
            rb = rb.timeout(t);
        }
        let open = |path: &std::path::Path| {
            let path = path.to_path_buf();
            async move {
                let file = tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
                let len = file
                    .metadata()
                    .await
                    .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
                    .len();
                let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
                    file,
                    256 * 1024,
                ));
                Ok::<_, Error>((body, len))
            }
        };
        rb = match &req.body {
            Body::Empty => {
                if matches!(req.method, Method::POST | Method::PUT | Method::PATCH) {
                    rb.header(CONTENT_LENGTH, "0")
                } else {
                    rb
                }
            }
            Body::Bytes { data, content_type } => rb
                .header(CONTENT_TYPE, content_type.as_str())
                .body(data.clone()),
            Body::Form(fields) => rb.form(fields),
            Body::File { path, content_type } => {
                let (body, len) = open(path).await?;
                rb.header(CONTENT_TYPE, content_type.as_str())
                    .header(CONTENT_LENGTH, len)
                    .body(body)
            }
            Body::Stream { make, content_type } => rb
                .header(CONTENT_TYPE, content_type.as_str())
                .body((make.0)()),
            Body::Multipart { field, path } => {
                let (body, len) = open(path).await?;
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "file".into());
                let part = reqwest::multipart::Part::stream_with_length(body, len)
                    .file_name(name)
                    .mime_str("application/octet-stream")
                    .expect("static mime type");
                rb.multipart(reqwest::multipart::Form::new().part(field.clone(), part))
            }
        };
        Ok(rb)
    }

    /// Log in again after a 401, unless another task already replaced the token that failed.
    async fn reauthenticate(&self, failed_token: Option<&str>) -> Result<()> {
        let _guard = self.inner.reauth_lock.lock().await;
        let current = self.token();
        if current.is_some() && current.as_deref() != failed_token {
            return Ok(());
        }
        let hook = self.inner.relogin.read().expect("listener lock").clone();
        // Held until the new token is stored, so another process waiting in its hook finds it.
        let mut _shared = None;
        if let Some(hook) = hook {
            let failed = failed_token.map(str::to_string);
            let (fresh, guard) = tokio::task::spawn_blocking(move || hook(failed.as_deref()))
                .await
                .map_err(|e| Error::Operation(format!("waiting for the session cache: {e}")))?;
            _shared = Some(guard);
            if let Some(fresh) = fresh.filter(|t| Some(t.as_str()) != failed_token) {
                tracing::debug!(
                    "session rejected (HTTP 401); using the one another command stored"
                );
                self.set_token(Some(fresh));
                return Ok(());
            }
        }
        tracing::debug!("session rejected (HTTP 401); logging in again");
        let token = self.authenticate().await?;
        let listener = self.inner.listener.read().expect("listener lock").clone();
        if let Some(listener) = listener {
            listener(&token);
        }
        Ok(())
    }

    /// The one function every request goes through.
    pub(super) async fn send(&self, req: &RequestBuilder) -> Result<reqwest::Response> {
        let mut url = self.url_for(&req.path)?;
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&req.query);
        }
        let path_only = url.path().to_string();
        let shown = loggable_url(&url);
        let what = format!("{} {}", req.method, path_only);
        let policy = RetryPolicy {
            max_retries: req.max_retries.unwrap_or(self.inner.max_retries),
            no_delay: self.inner.retry_no_delay,
            ..RetryPolicy::default()
        };
        let total = policy.max_retries + 1;
        let can_reauth = self.inner.auto_reauth && self.has_credentials();
        let mut reauthed = false;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let token = self.token();
            let rb = self.build_attempt(req, &url, token.as_deref()).await?;
            let started = Instant::now();
            let sent = match rb.send().await {
                Ok(r) => Sent::Response(r),
                Err(e) => Sent::Failed(e.without_url()),
            };
            let ms = started.elapsed().as_millis() as u64;
            let (outcome, retry_after) = match &sent {
                Sent::Response(resp) => {
                    let status = resp.status().as_u16();
                    tracing::debug!(
                        event = "http_request",
                        method = %req.method,
                        status,
                        attempt,
                        duration_ms = ms,
                        at_ms = super::clock_ms(),
                        "{} {shown} -> {status} in {ms}ms (attempt {attempt}/{total})",
                        req.method
                    );
                    let ra = resp
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    (Outcome::Status(status), ra)
                }
                Sent::Failed(err) => {
                    tracing::debug!(
                        event = "http_request",
                        method = %req.method,
                        attempt,
                        duration_ms = ms,
                        at_ms = super::clock_ms(),
                        error = %describe(err),
                        "{} {shown} -> error in {ms}ms (attempt {attempt}/{total})",
                        req.method
                    );
                    (Outcome::Transport(retry::transport_kind(err)), None)
                }
            };

            let sent = match sent {
                Sent::Response(resp) if resp.status().as_u16() < 400 => return Ok(resp),
                other => other,
            };
            if let Outcome::Status(status) = outcome {
                if status == StatusCode::UNAUTHORIZED.as_u16() && can_reauth && !reauthed {
                    reauthed = true;
                    // The repeated request does not use up an attempt: the first one was
                    // rejected for its credentials, not for a transient fault.
                    attempt -= 1;
                    self.reauthenticate(token.as_deref()).await?;
                    continue;
                }
                if status == StatusCode::UNAUTHORIZED.as_u16() {
                    if let Some(rejected) = token.as_deref() {
                        let listener = self.inner.rejected.read().expect("listener lock").clone();
                        if let Some(listener) = listener {
                            listener(rejected);
                        }
                    }
                }
            }

            let decision = retry::classify(&req.method, outcome, req.retry_non_idempotent);
            if decision == Decision::Retry && attempt < total {
                let (delay, source) = policy.delay(attempt - 1, outcome, retry_after.as_deref());
                let reason = match (&sent, outcome) {
                    (_, Outcome::Status(s)) => format!("HTTP {s}"),
                    (Sent::Failed(e), _) => describe(e),
                    _ => String::new(),
                };
                let per = if source == DelaySource::RetryAfter {
                    " per Retry-After"
                } else {
                    ""
                };
                tracing::warn!(
                    "{reason} on {what}; retrying in {:.1}s{per} (attempt {attempt}/{total})",
                    delay.as_secs_f64()
                );
                drop(sent);
                if delay > Duration::ZERO {
                    tokio::time::sleep(delay).await;
                }
                continue;
            }

            // With no retry budget at all, "retries exhausted" would mislead: report the failure itself.
            let exhausted = decision == Decision::Retry && attempt > 1;
            return Err(match sent {
                Sent::Response(resp) => {
                    let status = resp.status().as_u16();
                    if exhausted {
                        Error::RetryExhausted {
                            what,
                            attempts: attempt,
                            last: format!("HTTP {status}"),
                        }
                    } else {
                        self.status_error(resp, &req.method, &path_only, &url).await
                    }
                }
                Sent::Failed(err) => {
                    let kind = retry::transport_kind(&err);
                    let typed = self.transport_error_of(&req.method, &path_only, kind, &err);
                    if exhausted {
                        Error::RetryExhausted {
                            what,
                            attempts: attempt,
                            last: typed.to_string(),
                        }
                    } else {
                        typed
                    }
                }
            });
        }
    }

    /// Send `req` and read its whole body, repeating the request (for a method that may be
    /// repeated) when the body breaks off: a reset or timeout while reading a listing is the
    /// same transient fault as one before the headers, and without this one bad connection
    /// failed a whole scan's listing or a `project list`.
    pub(super) async fn send_read(&self, req: &RequestBuilder) -> Result<bytes::Bytes> {
        let deadline = self.inner.request_deadline;
        match tokio::time::timeout(deadline, self.send_read_attempts(req)).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout(format!(
                "no complete answer to {} {} within {}s",
                req.method,
                req.path,
                deadline.as_secs()
            ))),
        }
    }

    async fn send_read_attempts(&self, req: &RequestBuilder) -> Result<bytes::Bytes> {
        let policy = RetryPolicy {
            max_retries: req.max_retries.unwrap_or(self.inner.max_retries),
            no_delay: self.inner.retry_no_delay,
            ..RetryPolicy::default()
        };
        let total = policy.max_retries + 1;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let resp = self.send(req).await?;
            let err = match read_capped(resp, &req.path, MAX_BODY_BYTES).await? {
                Ok(b) => return Ok(b),
                Err(e) => e.without_url(),
            };
            // Without compression reqwest reports a broken body as a "decode" error, which
            // `transport_kind` rightly calls fatal for a response that never started; here the
            // headers arrived, so the only question is whether it timed out.
            let kind = if err.is_timeout() {
                Transport::ReadTimeout
            } else {
                Transport::Body
            };
            let outcome = Outcome::Transport(kind);
            let what = format!("{} {}", req.method, req.path);
            if retry::classify(&req.method, outcome, req.retry_non_idempotent) == Decision::Retry
                && attempt < total
            {
                let (delay, _) = policy.delay(attempt - 1, outcome, None);
                tracing::warn!(
                    "{} while reading the answer to {what}; retrying in {:.1}s (attempt {attempt}/{total})",
                    describe(&err),
                    delay.as_secs_f64()
                );
                if delay > Duration::ZERO {
                    tokio::time::sleep(delay).await;
                }
                continue;
            }
            let typed = Error::Network(format!("{what}: the answer broke off: {}", describe(&err)));
            return Err(if attempt > 1 {
                Error::RetryExhausted {
                    what,
                    attempts: attempt,
                    last: typed.to_string(),
                }
            } else {
                typed
            });
        }
    }

    /// Map a final error status to its typed error.
    async fn status_error(
        &self,
        resp: reqwest::Response,
        method: &Method,
        path: &str,
        url: &url::Url,
    ) -> Error {
        match resp.status().as_u16() {
            401 => {
                let mut u = url.clone();
                u.set_query(None);
                Error::SessionExpired(u.to_string())
            }
            403 => Error::PermissionDenied(format!("{method} {path}")),
            404 => Error::not_found("resource", path),
            status => {
                let body = resp.text().await.unwrap_or_default();
                Error::Http {
                    status,
                    method: method.to_string(),
                    path: path.to_string(),
                    body: snippet(&body, 200),
                }
            }
        }
    }
}

/// Most bytes one answer read whole (a listing, a document) may have: a server sending an
/// endless body must not take all memory. Transfers stream to disk and are not capped.
pub const MAX_BODY_BYTES: usize = 512 * 1024 * 1024;

/// Read `resp` whole, failing (for good: repeating would not help) past `max` bytes.
/// The inner result is a transport error worth a retry.
pub(super) async fn read_capped(
    resp: reqwest::Response,
    path: &str,
    max: usize,
) -> Result<std::result::Result<bytes::Bytes, reqwest::Error>> {
    use futures::StreamExt;
    let too_big = || {
        Error::Operation(format!(
            "the answer to {path} is larger than {max} bytes; stopped reading it"
        ))
    };
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_big());
    }
    let mut buf = bytes::BytesMut::new();
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(c) => {
                if buf.len() + c.len() > max {
                    return Err(too_big());
                }
                buf.extend_from_slice(&c);
            }
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(buf.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_urls_hide_secrets() {
        let u = url::Url::parse("https://u:pw@h/data?token=abc&format=json&apikey=&Password=x")
            .unwrap();
        let shown = loggable_url(&u);
        assert_eq!(
            shown,
            "https://h/data?token=***&format=json&apikey=&Password=***"
        );
    }
}
