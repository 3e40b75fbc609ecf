//! Raw probes for `doctor`: one GET that follows no redirect and reports what happened at the
//! transport level (TLS refused, unreachable) instead of mapping it to a typed error, so the
//! caller can tell a missing context path, an http→https redirect and an untrusted certificate
//! apart. Nothing else should use this: commands go through [`super::XnatClient`].

use std::path::Path;
use std::time::Duration;

use crate::core::error::{Error, Result};

/// What a probe got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAnswer {
    /// HTTP status.
    pub status: u16,
    /// The `Location` header of a redirect.
    pub location: Option<String>,
    /// The `Date` header (for clock skew).
    pub date: Option<String>,
    /// The first 64 KiB of the body, as text.
    pub body: String,
}

/// Why a probe got nothing back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawFailure {
    /// The TLS handshake failed: an untrusted, expired or mismatched certificate.
    Tls(String),
    /// No connection at all (refused, DNS, timeout).
    Unreachable(String),
}

/// The TLS settings a probe uses.
#[derive(Debug, Clone, Copy)]
pub struct ProbeTls<'a> {
    /// Verify certificates.
    pub verify: bool,
    /// Trust only these CAs (PEM).
    pub ca_bundle: Option<&'a Path>,
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        parts.push(s.to_string());
        src = s.source();
    }
    parts.join(": ")
}

/// `GET url` once, with no redirect followed, within `timeout`.
pub async fn raw_get(
    url: &str,
    tls: ProbeTls<'_>,
    timeout: Duration,
) -> Result<std::result::Result<RawAnswer, RawFailure>> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(concat!("xnatctl/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout);
    if let Some(bundle) = tls.ca_bundle {
        let pem = std::fs::read(bundle)
            .map_err(|e| Error::io(format!("reading CA bundle {}", bundle.display()), e))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| Error::Config(format!("invalid CA bundle {}: {e}", bundle.display())))?;
        builder = builder.tls_built_in_root_certs(false);
        for c in certs {
            builder = builder.add_root_certificate(c);
        }
    } else if !tls.verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    let client = builder
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
    let resp = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) => {
            let timed_out = e.is_timeout();
            let text = chain(&e.without_url());
            let lower = text.to_ascii_lowercase();
            let tls_problem = ["certificate", "unknownissuer", "tls", "handshake", "ssl"]
                .iter()
                .any(|w| lower.contains(w));
            return Ok(Err(if tls_problem && !timed_out {
                RawFailure::Tls(text)
            } else {
                RawFailure::Unreachable(text)
            }));
        }
    };
    let header = |name: reqwest::header::HeaderName| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let status = resp.status().as_u16();
    let location = header(reqwest::header::LOCATION);
    let date = header(reqwest::header::DATE);
    let body = match super::send::read_capped(resp, url, 64 * 1024).await {
        Ok(Ok(b)) => String::from_utf8_lossy(&b).into_owned(),
        _ => String::new(),
    };
    Ok(Ok(RawAnswer {
        status,
        location,
        date,
        body,
    }))
}
