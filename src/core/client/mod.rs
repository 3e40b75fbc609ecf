//! The one HTTP client every XNAT call goes through.
//!
//! [`XnatClient`] owns a pooled reqwest client and the session state (token or credentials). Every
//! request, whatever its shape, passes through a single private send function that adds auth,
//! retries transient failures (see [`crate::core::retry`]), logs in again once on a 401 when allowed,
//! and turns error statuses into typed [`Error`]s, so no caller ever inspects a status code.

pub mod diagnose;
mod path;
mod probe;
mod request;
mod rows;
mod send;
mod transfer;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::core::env;
use crate::core::error::{Error, Result};
use crate::core::retry;

pub use path::{seg, seg_strict};
pub use probe::{PingInfo, UserInfo};
pub use request::{Body, RequestBuilder, StreamSource};
pub(crate) use rows::rows_from;
use rows::{parse_json, typed_rows};
pub use transfer::DownloadOutcome;

/// Milliseconds since the first client of this process was built: the `at_ms` field of the
/// debug timeline (`-vv` or `XNATCTL_DEBUG=1`), which puts requests, their first bytes and each
/// archive's progress on one clock.
pub fn clock_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

/// Callback told about every session token obtained by automatic re-authentication.
pub type TokenListener = Arc<dyn Fn(&str) + Send + Sync>;

/// Called (on a blocking thread) before a re-login after a 401, with the rejected token: it may
/// wait for other processes sharing the session store, and returns a newer token one of them
/// stored (used instead of logging in), plus a guard held until the new login has been handed
/// to the [`TokenListener`].
pub type ReloginHook =
    Arc<dyn Fn(Option<&str>) -> (Option<String>, Box<dyn std::any::Any + Send>) + Send + Sync>;

/// Everything needed to build an [`XnatClient`].
#[derive(Clone)]
pub struct ClientOptions {
    /// Server URL, possibly with a context path (`https://host/xnat`).
    pub base_url: String,
    /// User name for Basic auth and logins.
    pub username: Option<String>,
    /// Password for Basic auth and logins.
    pub password: Option<String>,
    /// A JSESSIONID to start with.
    pub session_token: Option<String>,
    /// Read/write inactivity timeout (default 6 h, as XNAT archive requests can be slow).
    pub timeout: Duration,
    /// Time allowed to establish a connection (default 10 s).
    pub connect_timeout: Duration,
    /// Retries after the first attempt (default 3, i.e. 4 attempts).
    pub max_retries: u32,
    /// Verify TLS certificates (default true).
    pub verify_ssl: bool,
    /// A PEM bundle used as the only trust roots; overrides `verify_ssl = false`.
    pub ca_bundle: Option<PathBuf>,
    /// Log in again once on a 401 when credentials are known (default false).
    pub auto_reauth: bool,
    /// Make every retry delay zero; defaults to the `XNATCTL_RETRY_NO_DELAY` environment knob.
    pub retry_no_delay: bool,
    /// Overall deadline of a request whose answer is read whole (listings, documents, the
    /// login probe), retries included (default 5 min). The read `timeout` only catches a
    /// silent server; one that drips a byte now and then would otherwise hold a listing open
    /// for ever. Transfers are bounded by their own no-progress check instead.
    pub request_deadline: Duration,
    /// Most rows a paged listing may return before it fails (default 500,000): a server
    /// that pages forever must not grow memory without bound.
    pub max_listing_rows: usize,
}

impl ClientOptions {
    /// Options for `base_url` with every other setting at its default.
    pub fn new(base_url: impl Into<String>) -> Self {
        ClientOptions {
            base_url: base_url.into(),
            username: None,
            password: None,
            session_token: None,
            timeout: Duration::from_secs(21_600),
            connect_timeout: Duration::from_secs(10),
            max_retries: 3,
            verify_ssl: true,
            ca_bundle: None,
            auto_reauth: false,
            retry_no_delay: env::flag(env::XNATCTL_RETRY_NO_DELAY),
            max_listing_rows: 500_000,
            request_deadline: Duration::from_secs(300),
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_retries", &self.max_retries)
            .field("verify_ssl", &self.verify_ssl)
            .field("ca_bundle", &self.ca_bundle)
            .field("auto_reauth", &self.auto_reauth)
            .field("retry_no_delay", &self.retry_no_delay)
            .field("max_listing_rows", &self.max_listing_rows)
            .field("request_deadline", &self.request_deadline)
            .finish()
    }
}

/// A connection to one XNAT server; cheap to clone, all clones share the session.
#[derive(Clone)]
pub struct XnatClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    username: Option<String>,
    password: Option<String>,
    token: RwLock<Option<String>>,
    listener: RwLock<Option<TokenListener>>,
    rejected: RwLock<Option<TokenListener>>,
    relogin: RwLock<Option<ReloginHook>>,
    reauth_lock: tokio::sync::Mutex<()>,
    max_retries: u32,
    auto_reauth: bool,
    retry_no_delay: bool,
    connect_timeout: Duration,
    max_listing_rows: usize,
    request_deadline: Duration,
}

impl fmt::Debug for XnatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XnatClient")
            .field("base_url", &self.inner.base_url)
            .field("username", &self.inner.username)
            .field("authenticated", &self.is_authenticated())
            .finish_non_exhaustive()
    }
}

/// Check the scheme and host of a server URL and drop trailing slashes.
fn validate_base_url(raw: &str) -> Result<String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let invalid = |reason: &str| Error::InvalidUrl {
        value: crate::core::redact::mask_userinfo(trimmed),
        reason: reason.to_string(),
    };
    let url = url::Url::parse(trimmed).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().unwrap_or("").is_empty() {
        return Err(invalid("the URL has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("the URL must not have a query or fragment"));
    }
    Ok(trimmed.to_string())
}

/// Logins sent again after failing to be written on a closed pooled connection.
const MAX_UNSENT_LOGINS: u32 = 4;

/// Longest session id accepted from a login answer (Tomcat's are 32 hex characters, plus a
/// `.route` suffix behind a balancer).
const MAX_TOKEN_LEN: usize = 256;

/// Whether a login answer looks like a session id: short, and only characters a cookie value
/// can carry unquoted that session ids use (letters, digits, `.`, `-`, `_`). A `;` or `=`
/// would inject cookie attributes into every later request.
fn is_session_id(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

impl XnatClient {
    /// Build a client; fails on a malformed base URL or an unreadable CA bundle.
    pub fn new(opts: ClientOptions) -> Result<Self> {
        let base_url = validate_base_url(&opts.base_url)?;
        clock_ms();
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(concat!("xnatctl/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(opts.connect_timeout)
            .read_timeout(opts.timeout)
            .pool_idle_timeout(Duration::from_secs(90));
        // Reading and parsing the system trust store costs milliseconds and megabytes on every
        // run. A plain-http server needs no roots; the compiled-in webpki roots still cover a
        // redirect to a public https host (verification stays on), and an https server gets the
        // system store as well, for site-installed CAs.
        let https = base_url
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("https:"));
        if !https {
            builder = builder.tls_built_in_native_certs(false);
        }
        if let Some(bundle) = &opts.ca_bundle {
            let pem = std::fs::read(bundle)
                .map_err(|e| Error::io(format!("reading CA bundle {}", bundle.display()), e))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                Error::Config(format!("invalid CA bundle {}: {e}", bundle.display()))
            })?;
            if certs.is_empty() {
                return Err(Error::Config(format!(
                    "CA bundle {} holds no certificates",
                    bundle.display()
                )));
            }
            builder = builder.tls_built_in_root_certs(false);
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        } else if !opts.verify_ssl {
            tracing::debug!(url = %base_url, "TLS certificate verification is disabled");
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(XnatClient {
            inner: Arc::new(Inner {
                http,
                base_url,
                username: opts.username.filter(|u| !u.is_empty()),
                password: opts.password.filter(|p| !p.is_empty()),
                token: RwLock::new(opts.session_token.filter(|t| !t.trim().is_empty())),
                listener: RwLock::new(None),
                rejected: RwLock::new(None),
                relogin: RwLock::new(None),
                reauth_lock: tokio::sync::Mutex::new(()),
                max_retries: opts.max_retries,
                auto_reauth: opts.auto_reauth,
                retry_no_delay: opts.retry_no_delay,
                connect_timeout: opts.connect_timeout,
                max_listing_rows: opts.max_listing_rows.max(1),
                request_deadline: opts.request_deadline,
            }),
        })
    }

    /// The server URL without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The configured user name, if any.
    pub fn username(&self) -> Option<&str> {
        self.inner.username.as_deref()
    }

    /// The current session token, if any.
    pub fn token(&self) -> Option<String> {
        self.inner.token.read().expect("token lock").clone()
    }

    /// Replace (or forget, with `None`) the session token.
    pub fn set_token(&self, token: Option<String>) {
        *self.inner.token.write().expect("token lock") = token.filter(|t| !t.trim().is_empty());
    }

    /// True when a session token is known (whether the server still accepts it is not checked).
    pub fn is_authenticated(&self) -> bool {
        self.inner.token.read().expect("token lock").is_some()
    }

    /// True when both a user name and a password are known.
    pub fn has_credentials(&self) -> bool {
        self.inner.username.is_some() && self.inner.password.is_some()
    }

    /// Register the callback that receives tokens obtained by automatic re-authentication, so
    /// the caller can persist them in the session cache.
    pub fn set_token_listener(&self, listener: TokenListener) {
        *self.inner.listener.write().expect("listener lock") = Some(listener);
    }

    /// Register the hook a re-login after a 401 goes through, so processes sharing a session
    /// cache make one login between them.
    pub fn set_relogin_hook(&self, hook: ReloginHook) {
        *self.inner.relogin.write().expect("listener lock") = Some(hook);
    }

    /// Register the callback that receives a session token the server answered 401 to and that
    /// could not be replaced by logging in again, so the caller can drop it from the session
    /// cache instead of sending it (and failing) on every later command.
    pub fn set_rejected_token_listener(&self, listener: TokenListener) {
        *self.inner.rejected.write().expect("listener lock") = Some(listener);
    }

    /// Log in with Basic auth (`POST /data/JSESSION`) and keep the returned session token.
    ///
    /// A single attempt, never retried once the server may have seen it: repeating a failed
    /// login can lock an account. Only a login that could not even be written (a pooled
    /// connection the server had closed) is sent again.
    pub async fn authenticate(&self) -> Result<String> {
        let (Some(user), Some(pass)) = (&self.inner.username, &self.inner.password) else {
            return Err(Error::Auth("username and password required".into()));
        };
        let url = self.url_for("/data/JSESSION")?;
        let started = std::time::Instant::now();
        let mut unsent = 0;
        let resp = loop {
            let sent = self
                .inner
                .http
                .post(url.clone())
                .basic_auth(user, Some(pass))
                .header(reqwest::header::CONTENT_LENGTH, "0")
                .send()
                .await;
            match sent {
                Ok(resp) => break resp,
                // A pooled keep-alive connection the server closed a moment ago (a server
                // drops the connection after answering 401 to an upload whose body it did not
                // read) refuses the login as it is written. The server never received it, so
                // it is no failed login; the next attempt takes another connection. Several
                // parallel requests rejected at once can leave several such connections.
                Err(e) if unsent < MAX_UNSENT_LOGINS && retry::never_received(&e) => {
                    unsent += 1;
                    tracing::debug!(
                        error = %e.without_url(),
                        "the login could not be written on a closed connection; sending it again"
                    );
                }
                Err(e) => return Err(self.transport_error(&Method::POST, "/data/JSESSION", e)),
            }
        };
        let status = resp.status();
        tracing::debug!(
            event = "http_request",
            method = "POST",
            status = status.as_u16(),
            attempt = 1u32,
            duration_ms = started.elapsed().as_millis() as u64,
            "POST {} -> {} in {}ms (attempt 1/1)",
            send::loggable_url(&url),
            status.as_u16(),
            started.elapsed().as_millis()
        );
        // No login service at all means the URL (or its context path) is wrong; calling that an
        // authentication failure sent users off to retype a password that was never checked.
        if status == StatusCode::NOT_FOUND {
            return Err(Error::InvalidUrl {
                value: self.inner.base_url.clone(),
                reason: "no XNAT login service there (POST /data/JSESSION answered HTTP 404); \
                         check the address and its context path (e.g. https://host/xnat)"
                    .into(),
            });
        }
        if status != StatusCode::OK {
            return Err(Error::Auth(format!(
                "login to {} failed: HTTP {}",
                self.inner.base_url,
                status.as_u16()
            )));
        }
        // A session id is a few dozen characters; reading more than a little would let a
        // misbehaving server fill memory and the session cache.
        let body = match send::read_capped(resp, "/data/JSESSION", 64 * 1024).await {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => return Err(self.transport_error(&Method::POST, "/data/JSESSION", e)),
            Err(_) => {
                return Err(Error::Auth(format!(
                    "the login answer of {} is not a session id (over 64 KiB); nothing was saved",
                    self.inner.base_url
                )))
            }
        };
        let body = String::from_utf8_lossy(&body);
        if body.to_ascii_lowercase().contains("<html") {
            return Err(Error::Auth(
                "invalid credentials or password expired".into(),
            ));
        }
        let token = body.trim().to_string();
        if token.is_empty() {
            return Err(Error::Auth(
                "the server returned an empty session token".into(),
            ));
        }
        if !is_session_id(&token) {
            return Err(Error::Auth(format!(
                "the login answer of {} is not a session id ({} characters{}); nothing was saved",
                self.inner.base_url,
                token.chars().count(),
                if token.len() > MAX_TOKEN_LEN {
                    ", too long"
                } else {
                    ", unexpected characters"
                }
            )));
        }
        self.set_token(Some(token.clone()));
        Ok(token)
    }

    /// End the server-side session (`DELETE /data/JSESSION`) and forget the token.
    ///
    /// Best effort: every failure is ignored, since the goal is only to stop using the token.
    pub async fn invalidate_session(&self) {
        let token = self.inner.token.write().expect("token lock").take();
        let Some(token) = token else { return };
        let Ok(url) = self.url_for("/data/JSESSION") else {
            return;
        };
        let result = self
            .inner
            .http
            .delete(url)
            .header(reqwest::header::COOKIE, format!("JSESSIONID={token}"))
            .timeout(Duration::from_secs(30))
            .send()
            .await;
        if let Err(e) = result {
            tracing::debug!(error = %e.without_url(), "logout request failed; ignored");
        }
    }

    /// Start building a request for `path` (relative to the base URL, starting with `/`).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, path)
    }

    /// `GET path?params`, returning the successful response.
    pub async fn get(&self, path: &str, params: &[(&str, &str)]) -> Result<reqwest::Response> {
        self.request(Method::GET, path)
            .query_pairs(params.iter().copied())
            .send()
            .await
    }

    /// `POST path?params` with an empty body.
    pub async fn post(&self, path: &str, params: &[(&str, &str)]) -> Result<reqwest::Response> {
        self.request(Method::POST, path)
            .query_pairs(params.iter().copied())
            .send()
            .await
    }

    /// `PUT path?params` with an empty body.
    pub async fn put(&self, path: &str, params: &[(&str, &str)]) -> Result<reqwest::Response> {
        self.request(Method::PUT, path)
            .query_pairs(params.iter().copied())
            .send()
            .await
    }

    /// `DELETE path?params`.
    pub async fn delete(&self, path: &str, params: &[(&str, &str)]) -> Result<reqwest::Response> {
        self.request(Method::DELETE, path)
            .query_pairs(params.iter().copied())
            .send()
            .await
    }

    /// `GET path?params&format=json`, parsed as JSON.
    pub async fn get_json(&self, path: &str, params: &[(&str, &str)]) -> Result<serde_json::Value> {
        let bytes = self
            .request(Method::GET, path)
            .query_pairs(params.iter().copied())
            .query("format", "json")
            .read()
            .await?;
        parse_json(&bytes, path)
    }

    /// `GET path?params`, the body as text.
    pub async fn get_text(&self, path: &str, params: &[(&str, &str)]) -> Result<String> {
        let bytes = self
            .request(Method::GET, path)
            .query_pairs(params.iter().copied())
            .read()
            .await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The rows of a listing: `ResultSet.Result`, or a bare JSON array; anything else is 0 rows.
    pub async fn list_rows(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<Vec<serde_json::Map<String, serde_json::Value>>> {
        let value = self.get_json(path, params).await?;
        Ok(rows_from(value, None))
    }

    /// One listing page parsed straight into typed rows: `GET path?params[&offset&limit]&format=json`
    /// (the same query as [`Self::list_rows`] and [`Self::paginate`]). A `ResultSet.Result` (or bare
    /// array) whose rows all fit `R` is read without building a `serde_json::Value` tree; any other
    /// shape takes the generic path ([`rows_from`]) and `from_row` turns each row into an `R`.
    pub async fn list_page<R: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, &str)],
        page: Option<(usize, usize)>,
        from_row: impl Fn(serde_json::Map<String, serde_json::Value>) -> R,
    ) -> Result<Vec<R>> {
        let mut req = self
            .request(Method::GET, path)
            .query_pairs(params.iter().copied());
        if let Some((offset, limit)) = page {
            req = req
                .query("offset", offset.to_string())
                .query("limit", limit.to_string());
        }
        let bytes = req.query("format", "json").read().await?;
        if let Some(rows) = typed_rows(&bytes) {
            return Ok(rows);
        }
        let value = parse_json(&bytes, path)?;
        Ok(rows_from(value, None).into_iter().map(from_row).collect())
    }

    /// Join `path` to the base URL; a missing leading `/` is added.
    fn url_for(&self, path: &str) -> Result<url::Url> {
        let joined = if path.starts_with('/') {
            format!("{}{}", self.inner.base_url, path)
        } else {
            format!("{}/{}", self.inner.base_url, path)
        };
        url::Url::parse(&joined).map_err(|e| Error::InvalidUrl {
            value: joined.clone(),
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests;
