//! `doctor`: the checks that explain why a profile cannot reach or use its XNAT, one line each
//! with the fix: the URL (scheme, a missing context path found by probing, a redirect to https),
//! TLS, a proxy from the environment, the credentials, access to the default project, the server
//! version and clock skew.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::core::client::diagnose::{raw_get, ProbeTls, RawAnswer, RawFailure};
use crate::core::config::ResolvedProfile;
use crate::core::output::Row;
use crate::core::redact::mask_userinfo;
use crate::core::Result;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, but something deserves attention.
    Warn,
    /// Broken: the fix says what to do.
    Fail,
    /// Not checked (an earlier check failed, or nothing to check).
    Skip,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `url`, `tls`, `proxy`, `credentials`, `project`, `version`, `clock`.
    pub check: &'static str,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about it, when anything.
    pub fix: Option<String>,
}

impl Row for Check {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("check", "Check"),
        ("status", "Status"),
        ("detail", "Detail"),
        ("fix", "Fix"),
    ];
    const ID: &'static str = "check";
}

impl Check {
    /// A check with no fix.
    pub fn new(check: &'static str, status: Status, detail: impl Into<String>) -> Self {
        Check {
            check,
            status,
            detail: detail.into(),
            fix: None,
        }
    }

    /// The same with a fix.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

const BUILD_INFO: &str = "/xapi/siteConfig/buildInfo";
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// What the URL and TLS probes learnt, for the later checks.
#[derive(Debug, Default)]
pub struct Reach {
    /// The server's build information (from the open buildInfo service).
    pub build_info: Option<serde_json::Map<String, Value>>,
    /// The server's `Date` header.
    pub date: Option<String>,
    /// False when the server could not be reached at all: later checks are skipped.
    pub reachable: bool,
}

fn build_info_of(a: &RawAnswer) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_str::<Value>(&a.body) {
        Ok(Value::Object(m)) if a.status == 200 => Some(m),
        _ => None,
    }
}

fn set_url(p: &ResolvedProfile, url: &str) -> String {
    if p.url_from_env {
        format!("set XNAT_URL={url}")
    } else {
        format!(
            "set 'url: {url}' in profile '{}' of the config file",
            p.name
        )
    }
}

/// The URL and TLS checks (in that order), with what they learnt.
pub async fn url_and_tls(p: &ResolvedProfile) -> Result<(Vec<Check>, Reach)> {
    let base = p.url.trim_end_matches('/').to_string();
    let https = base.to_ascii_lowercase().starts_with("https://");
    let tls = ProbeTls {
        verify: p.verify_ssl,
        ca_bundle: p.ca_bundle.as_deref(),
    };
    let mut reach = Reach::default();
    let first = raw_get(&format!("{base}{BUILD_INFO}"), tls, PROBE_TIMEOUT).await?;
    // TLS first, so that a certificate problem does not hide what the URL probe would find.
    let (tls_check, answer) = match first {
        Err(RawFailure::Tls(why)) => {
            let insecure = ProbeTls {
                verify: false,
                ca_bundle: None,
            };
            let again = raw_get(&format!("{base}{BUILD_INFO}"), insecure, PROBE_TIMEOUT).await?;
            let fix = match &p.ca_bundle {
                Some(b) => format!(
                    "the CA bundle {} does not vouch for this server: add the site's CA certificate (PEM) to it",
                    b.display()
                ),
                None => format!(
                    "save the site's CA certificate (PEM) to a file and set 'ca_bundle: /path/to/ca.pem' in profile '{}'",
                    p.name
                ),
            };
            (
                Check::new(
                    "tls",
                    Status::Fail,
                    format!("the certificate is not trusted (self-signed or an unknown CA): {why}"),
                )
                .fix(fix),
                again.ok(),
            )
        }
        Err(RawFailure::Unreachable(why)) => {
            let checks = vec![
                Check::new("url", Status::Fail, format!("cannot reach {base}: {why}"))
                    .fix("check the address, your network or VPN, and that XNAT is running"),
                Check::new("tls", Status::Skip, "server unreachable"),
            ];
            return Ok((checks, reach));
        }
        Ok(a) => {
            let t = if !https {
                Check::new("tls", Status::Skip, "plain http: no TLS")
            } else if p.ca_bundle.is_some() {
                Check::new(
                    "tls",
                    Status::Ok,
                    "certificate verified against the profile's ca_bundle",
                )
            } else if !p.verify_ssl {
                Check::new("tls", Status::Warn, "certificate verification is off").fix(format!(
                    "set 'ca_bundle' in profile '{}' instead of verify_ssl: false",
                    p.name
                ))
            } else {
                Check::new("tls", Status::Ok, "certificate verified")
            };
            (t, Some(a))
        }
    };
    reach.reachable = answer.is_some();
    let url_check = match &answer {
        None => Check::new("url", Status::Fail, format!("no answer from {base}")),
        Some(a) if (300..400).contains(&a.status) => {
            let to = a.location.clone().unwrap_or_default();
            let target = to
                .strip_suffix(BUILD_INFO)
                .unwrap_or(&to)
                .trim_end_matches('/')
                .to_string();
            if !https && target.to_ascii_lowercase().starts_with("https://") {
                Check::new(
                    "url",
                    Status::Fail,
                    format!("{base} redirects to https ({target})"),
                )
                .fix(format!(
                    "{} (a login POSTed to the http address is lost in the redirect)",
                    set_url(p, &target)
                ))
            } else {
                Check::new("url", Status::Warn, format!("{base} redirects to {target}"))
                    .fix(set_url(p, &target))
            }
        }
        Some(a) => match build_info_of(a) {
            Some(info) => {
                reach.build_info = Some(info);
                reach.date = a.date.clone();
                if https {
                    Check::new("url", Status::Ok, format!("XNAT answers at {base}"))
                } else {
                    Check::new(
                        "url",
                        Status::Warn,
                        format!("XNAT answers at {base}, over plain http"),
                    )
                    .fix("use https if the server offers it: passwords and tokens cross the network unencrypted")
                }
            }
            None => {
                // XNAT deployed as xnat.war lives under /xnat; try the usual context paths.
                let mut found = None;
                for cp in ["/xnat", "/XNAT"] {
                    let probe = ProbeTls {
                        verify: tls.verify && answer.is_some(),
                        ca_bundle: tls.ca_bundle,
                    };
                    if let Ok(Ok(b)) =
                        raw_get(&format!("{base}{cp}{BUILD_INFO}"), probe, PROBE_TIMEOUT).await
                    {
                        if let Some(info) = build_info_of(&b) {
                            reach.build_info = Some(info);
                            reach.date = b.date.clone();
                            found = Some(format!("{base}{cp}"));
                            break;
                        }
                    }
                }
                match found {
                    Some(right) => Check::new(
                        "url",
                        Status::Fail,
                        format!(
                            "no XNAT at {base} (HTTP {}), but there is one at {right}",
                            a.status
                        ),
                    )
                    .fix(set_url(p, &right)),
                    None => Check::new(
                        "url",
                        Status::Fail,
                        format!(
                            "{base} answers HTTP {} but is not an XNAT (no {BUILD_INFO})",
                            a.status
                        ),
                    )
                    .fix("check the address and its context path (e.g. https://host/xnat)"),
                }
            }
        },
    };
    Ok((vec![url_check, tls_check], reach))
}

/// Proxies from the environment that apply to `url` (reqwest honours the same variables).
pub fn proxy(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Check {
    let https = url.to_ascii_lowercase().starts_with("https://");
    let names: &[&str] = if https {
        &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
    };
    let Some((name, value)) = names
        .iter()
        .find_map(|n| env(n).filter(|v| !v.trim().is_empty()).map(|v| (*n, v)))
    else {
        return Check::new("proxy", Status::Ok, "no proxy in the environment");
    };
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    let no_proxy = env("NO_PROXY")
        .or_else(|| env("no_proxy"))
        .unwrap_or_default();
    let bypassed = no_proxy.split(',').map(str::trim).any(|e| {
        let e = e.trim_start_matches('.').to_ascii_lowercase();
        e == "*" || (!e.is_empty() && (host == e || host.ends_with(&format!(".{e}"))))
    });
    if bypassed {
        Check::new(
            "proxy",
            Status::Ok,
            format!("{name} is set, but NO_PROXY exempts {host}"),
        )
    } else {
        Check::new(
            "proxy",
            Status::Warn,
            format!(
                "requests go through {} (from {name})",
                mask_userinfo(&value)
            ),
        )
        .fix(format!(
            "if the server is internal, add it to NO_PROXY (NO_PROXY={host})"
        ))
    }
}

/// The server version from its build information.
pub fn version(reach: &Reach) -> Check {
    match reach
        .build_info
        .as_ref()
        .and_then(|m| m.get("version"))
        .and_then(Value::as_str)
    {
        Some(v) => Check::new("version", Status::Ok, format!("XNAT {v}")),
        None if !reach.reachable => Check::new("version", Status::Skip, "server unreachable"),
        None => Check::new(
            "version",
            Status::Warn,
            "the server does not say its version",
        ),
    }
}

/// Clock skew between this machine and the server (token expiry and TLS depend on it).
pub fn clock(reach: &Reach, now: DateTime<Utc>) -> Check {
    let Some(date) = reach
        .date
        .as_deref()
        .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
    else {
        return Check::new("clock", Status::Skip, "the server sent no Date header");
    };
    let skew = (now - date.with_timezone(&Utc)).num_seconds();
    if skew.abs() < 60 {
        Check::new(
            "clock",
            Status::Ok,
            format!("within {}s of the server", skew.abs().max(1)),
        )
    } else {
        let dir = if skew > 0 { "ahead of" } else { "behind" };
        Check::new(
            "clock",
            Status::Warn,
            format!("this machine's clock is {}s {dir} the server's", skew.abs()),
        )
        .fix("synchronise the clock (NTP): token expiry, renewal and TLS checks depend on it")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_from_the_environment_and_no_proxy() {
        let none = |_: &str| None;
        assert_eq!(proxy("https://x.org", &none).status, Status::Ok);
        let set = |n: &str| match n {
            "HTTPS_PROXY" => Some("http://u:pw@proxy:3128".to_string()),
            _ => None,
        };
        let c = proxy("https://xnat.example.org", &set);
        assert_eq!(c.status, Status::Warn);
        assert!(!c.detail.contains("pw"), "{}", c.detail);
        let exempt = |n: &str| match n {
            "HTTPS_PROXY" => Some("http://proxy:3128".to_string()),
            "NO_PROXY" => Some("localhost,.example.org".to_string()),
            _ => None,
        };
        assert_eq!(
            proxy("https://xnat.example.org", &exempt).status,
            Status::Ok
        );
        // An http URL is not affected by HTTPS_PROXY.
        assert_eq!(proxy("http://xnat.example.org", &set).status, Status::Ok);
    }

    #[test]
    fn clock_skew_over_a_minute_is_a_warning() {
        let now = Utc::now();
        let reach = |secs: i64| Reach {
            date: Some((now - chrono::Duration::seconds(secs)).to_rfc2822()),
            ..Reach::default()
        };
        assert_eq!(clock(&reach(5), now).status, Status::Ok);
        let c = clock(&reach(300), now);
        assert_eq!(c.status, Status::Warn);
        assert!(c.detail.contains("300s ahead of"), "{}", c.detail);
    }
}
