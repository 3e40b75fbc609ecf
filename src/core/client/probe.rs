//! Server probes: is it there (`ping`), and who does it think we are (`whoami`).
//!
//! Both try the modern XAPI endpoint first and fall back to older ones, since XNAT versions
//! differ in which of them exist.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Serialize;

use super::{seg, XnatClient};
use crate::core::error::{Error, Result};

/// The result of [`XnatClient::ping`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PingInfo {
    /// The server's base URL.
    pub url: String,
    /// The XNAT version string, when the server reported one.
    pub version: Option<String>,
    /// Round-trip time of the successful probe, in milliseconds.
    pub latency_ms: u64,
}

/// The result of [`XnatClient::whoami`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    /// The login name.
    pub username: String,
    /// First name, when the server shares it.
    pub first_name: Option<String>,
    /// Last name, when the server shares it.
    pub last_name: Option<String>,
    /// E-mail address, when the server shares it.
    pub email: Option<String>,
    /// Whether the account is enabled (assumed true when unknown but a user is configured).
    pub enabled: bool,
}

/// Errors after which an older endpoint is worth trying: the server answered that it lacks
/// this endpoint. A 5xx means the server itself is in trouble and is reported as such.
fn falls_back(err: &Error) -> bool {
    match err {
        Error::NotFound { .. } => true,
        Error::Http { status, .. } => *status < 500,
        _ => false,
    }
}

fn is_auth(err: &Error) -> bool {
    matches!(
        err,
        Error::Auth(_) | Error::SessionExpired(_) | Error::PermissionDenied(_)
    )
}

fn usable_text(body: &str) -> Option<String> {
    let t = body.trim();
    if t.is_empty() || t.to_ascii_lowercase().contains("<html") {
        None
    } else {
        Some(t.to_string())
    }
}

impl XnatClient {
    async fn probe_text(&self, path: &str) -> Result<String> {
        let resp = self
            .request(Method::GET, path)
            .timeout(Duration::from_secs(5))
            .max_retries(0)
            .send()
            .await?;
        resp.text()
            .await
            .map_err(|e| self.transport_error(&Method::GET, path, e))
    }

    /// Check that the server answers, and read its version.
    ///
    /// Tries `/xapi/siteConfig/buildInfo/version`, then `/xapi/siteConfig/buildInfo`, then
    /// `/data/version`, each once with a 5 s limit. A server that answers none of them with a
    /// version but does answer is still reachable (`version: None`); transport and auth failures
    /// are returned as errors.
    pub async fn ping(&self) -> Result<PingInfo> {
        let started = Instant::now();
        let done = |version: Option<String>| PingInfo {
            url: self.base_url().to_string(),
            version,
            latency_ms: started.elapsed().as_millis() as u64,
        };
        match self.probe_text("/xapi/siteConfig/buildInfo/version").await {
            Ok(body) => {
                if let Some(v) = usable_text(&body) {
                    return Ok(done(Some(v)));
                }
            }
            Err(e) if falls_back(&e) => {}
            Err(e) => return Err(e),
        }
        match self.probe_text("/xapi/siteConfig/buildInfo").await {
            Ok(body) => {
                let version = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| {
                        v.get("version")
                            .and_then(|v| v.as_str())
                            .map(str::to_string)
                    })
                    .filter(|v| !v.trim().is_empty());
                if version.is_some() {
                    return Ok(done(version));
                }
            }
            Err(e) if falls_back(&e) => {}
            Err(e) => return Err(e),
        }
        match self.probe_text("/data/version").await {
            Ok(body) => Ok(done(usable_text(&body))),
            Err(e) if falls_back(&e) => Ok(done(None)),
            Err(e) => Err(e),
        }
    }

    /// Ask the server who the current credentials belong to.
    ///
    /// `GET /xapi/users/username`, falling back to `GET /data/auth`; then the profile from
    /// `GET /xapi/users/{name}` (best effort). Auth errors (401/403) are returned, and so are
    /// transport failures, so an unreachable host fails at once instead of after every fallback.
    /// When the server names nobody, the configured user name is reported.
    pub async fn whoami(&self) -> Result<UserInfo> {
        let mut name = match self.get_text("/xapi/users/username", &[]).await {
            Ok(body) => usable_text(&body),
            Err(e) if is_auth(&e) => return Err(e),
            Err(e) if falls_back(&e) => None,
            Err(e) => return Err(e),
        };
        if name.is_none() {
            name = match self.get_text("/data/auth", &[]).await {
                Ok(body) => parse_logged_in(&body),
                Err(e) if is_auth(&e) => return Err(e),
                Err(e) if falls_back(&e) => None,
                Err(e) => return Err(e),
            };
        }
        let Some(mut name) = name else {
            return Ok(match self.username() {
                Some(u) => UserInfo {
                    username: u.to_string(),
                    first_name: None,
                    last_name: None,
                    email: None,
                    enabled: true,
                },
                None => UserInfo {
                    username: "unknown".into(),
                    first_name: None,
                    last_name: None,
                    email: None,
                    enabled: false,
                },
            });
        };
        if let Some(configured) = self.username() {
            if configured.eq_ignore_ascii_case(&name) {
                name = configured.to_string();
            }
        }
        let mut info = UserInfo {
            username: name.clone(),
            first_name: None,
            last_name: None,
            email: None,
            enabled: true,
        };
        let details = async {
            let path = format!("/xapi/users/{}", seg(&name)?);
            let bytes = self
                .request(Method::GET, &path)
                .query("format", "json")
                .read()
                .await?;
            super::rows::parse_json(&bytes, &path)
        }
        .await;
        match details {
            Ok(v) => {
                let s = |k: &str| {
                    v.get(k)
                        .and_then(|x| x.as_str())
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                };
                info.first_name = s("firstName");
                info.last_name = s("lastName");
                info.email = s("email");
                if let Some(enabled) = v.get("enabled").and_then(|x| x.as_bool()) {
                    info.enabled = enabled;
                }
            }
            Err(e) => tracing::debug!(error = %e, "user details unavailable; ignored"),
        }
        Ok(info)
    }
}

/// The user name in `/data/auth`'s "User 'x' is logged in" text.
fn parse_logged_in(body: &str) -> Option<String> {
    let re = regex::Regex::new(r"User '([^']+)' is logged in").expect("static regex");
    re.captures(body).map(|c| c[1].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_data_auth_text() {
        assert_eq!(
            parse_logged_in("User 'alice' is logged in").as_deref(),
            Some("alice")
        );
        assert_eq!(parse_logged_in("<html>login</html>"), None);
    }
}
