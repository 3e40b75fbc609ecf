//! Fault injection rules: fail, delay or cut matching requests so clients' retry and error paths
//! can be tested. Off unless a rule is added (`--faults`, `/__sim/faults`, [`crate::SimHandle::add_fault`]).
//!
//! SPEC grammar (also in README.md):
//! ```text
//! SPEC   := RULE ( ';' RULE )*
//! RULE   := ITEM ( ',' ITEM )*
//! ITEM   := method=METHOD | path=GLOB | count=N|* | status=CODE | retry-after=VALUE
//!         | reset-after=BYTES | latency-ms=MS | bandwidth=BYTES_PER_SECOND
//! ```
//! A rule needs `path` and exactly one action (`status`, `reset-after`, `latency-ms` or
//! `bandwidth`).
//! `method` defaults to any, `count` to 1 (`*` = every matching request).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum FaultAction {
    /// Answer with this status (empty body) instead of handling the request.
    Status {
        status: u16,
        retry_after: Option<String>,
    },
    /// Handle the request, then abort the connection after this many body bytes.
    ResetAfter { bytes: u64 },
    /// Handle the request after sleeping this long.
    LatencyMs { ms: u64 },
    /// Pace the response body to this many bytes per second (per request, so per connection:
    /// a client opening four connections gets four times the rate, as on a real link whose
    /// limit is the server's per-stream throughput).
    Bandwidth { bytes_per_second: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Upper-case method, or `None` for any.
    pub method: Option<String>,
    /// Glob over the request path (no query): `*` any run of characters (including `/`), `?` one.
    pub path: String,
    pub action: FaultAction,
    /// How many more matching requests to affect; `None` = unlimited.
    pub remaining: Option<u64>,
}

impl FaultRule {
    /// Fail the next `count` requests matching `method` (or any, with `"*"`) and `path` with `status`.
    pub fn status(method: &str, path: &str, status: u16, count: u64) -> Self {
        FaultRule {
            method: normalize_method(method),
            path: path.to_string(),
            action: FaultAction::Status {
                status,
                retry_after: None,
            },
            remaining: Some(count),
        }
    }

    pub fn with_retry_after(mut self, value: &str) -> Self {
        if let FaultAction::Status { retry_after, .. } = &mut self.action {
            *retry_after = Some(value.to_string());
        }
        self
    }

    /// Cut the connection after `bytes` bytes of the body of the next `count` matching responses.
    pub fn reset_after(method: &str, path: &str, bytes: u64, count: u64) -> Self {
        FaultRule {
            method: normalize_method(method),
            path: path.to_string(),
            action: FaultAction::ResetAfter { bytes },
            remaining: Some(count),
        }
    }

    /// Delay every matching request by `ms` (unlimited count).
    pub fn latency(method: &str, path: &str, ms: u64) -> Self {
        FaultRule {
            method: normalize_method(method),
            path: path.to_string(),
            action: FaultAction::LatencyMs { ms },
            remaining: None,
        }
    }

    /// Pace the body of every matching response to `bytes_per_second` (unlimited count).
    pub fn bandwidth(method: &str, path: &str, bytes_per_second: u64) -> Self {
        FaultRule {
            method: normalize_method(method),
            path: path.to_string(),
            action: FaultAction::Bandwidth { bytes_per_second },
            remaining: None,
        }
    }

    /// Whether this rule shapes a request without deciding its answer, so later rules apply too.
    pub fn is_shaping(&self) -> bool {
        matches!(
            self.action,
            FaultAction::LatencyMs { .. } | FaultAction::Bandwidth { .. }
        )
    }

    pub fn matches(&self, method: &str, path: &str) -> bool {
        if self.remaining == Some(0) {
            return false;
        }
        if let Some(m) = &self.method {
            if !m.eq_ignore_ascii_case(method) {
                return false;
            }
        }
        glob_match(self.path.as_bytes(), path.as_bytes())
    }
}

fn normalize_method(method: &str) -> Option<String> {
    let m = method.trim();
    if m.is_empty() || m == "*" {
        None
    } else {
        Some(m.to_ascii_uppercase())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpecError(pub String);

impl fmt::Display for FaultSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid fault spec: {}", self.0)
    }
}

impl std::error::Error for FaultSpecError {}

/// Parse a SPEC (see module docs) into rules.
pub fn parse_spec(spec: &str) -> Result<Vec<FaultRule>, FaultSpecError> {
    spec.split(';')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(parse_rule)
        .collect()
}

fn parse_rule(rule: &str) -> Result<FaultRule, FaultSpecError> {
    let mut method = None;
    let mut path = None;
    let mut count: Option<Option<u64>> = None;
    let mut status = None;
    let mut retry_after = None;
    let mut reset = None;
    let mut latency = None;
    let mut bandwidth = None;
    for item in rule.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| FaultSpecError(format!("`{item}` is not KEY=VALUE")))?;
        let num = |v: &str| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| FaultSpecError(format!("`{key}` needs a number, got `{v}`")))
        };
        match key.trim() {
            "method" => method = normalize_method(value),
            "path" => path = Some(value.trim().to_string()),
            "count" if value.trim() == "*" => count = Some(None),
            "count" => count = Some(Some(num(value)?)),
            "status" => {
                let s = num(value)?;
                if !(100..=599).contains(&s) {
                    return Err(FaultSpecError(format!("status {s} out of range")));
                }
                status = Some(s as u16);
            }
            "retry-after" => retry_after = Some(value.trim().to_string()),
            "reset-after" => reset = Some(num(value)?),
            "latency-ms" => latency = Some(num(value)?),
            "bandwidth" => {
                let n = num(value)?;
                if n == 0 {
                    return Err(FaultSpecError("bandwidth must be above 0".into()));
                }
                bandwidth = Some(n);
            }
            other => return Err(FaultSpecError(format!("unknown key `{other}`"))),
        }
    }
    let path = path.ok_or_else(|| FaultSpecError(format!("`{rule}` has no path=")))?;
    if retry_after.is_some() && status.is_none() {
        return Err(FaultSpecError("retry-after= goes with status=".into()));
    }
    let action = match (status, reset, latency, bandwidth) {
        (Some(status), None, None, None) => FaultAction::Status {
            status,
            retry_after,
        },
        (None, Some(bytes), None, None) => FaultAction::ResetAfter { bytes },
        (None, None, Some(ms), None) => FaultAction::LatencyMs { ms },
        (None, None, None, Some(bytes_per_second)) => FaultAction::Bandwidth { bytes_per_second },
        _ => {
            return Err(FaultSpecError(format!(
                "`{rule}` needs exactly one of status=, reset-after=, latency-ms=, bandwidth="
            )))
        }
    };
    Ok(FaultRule {
        method,
        path,
        action,
        remaining: count.unwrap_or(Some(1)),
    })
}

/// `*` matches any run (including `/`), `?` any single byte.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match(
            b"/data/projects*",
            b"/data/projects/P1/subjects"
        ));
        assert!(glob_match(b"/data/*/P?", b"/data/projects/P1"));
        assert!(!glob_match(b"/data/projects", b"/data/projects/P1"));
        assert!(glob_match(b"*", b""));
    }

    #[test]
    fn parses_rules() {
        let rules = parse_spec(
            "method=GET,path=/data/projects*,status=503,count=2,retry-after=1; path=/data/x,reset-after=10,count=*",
        )
        .unwrap();
        assert_eq!(
            rules[0],
            FaultRule::status("GET", "/data/projects*", 503, 2).with_retry_after("1")
        );
        assert_eq!(rules[1].remaining, None);
        assert_eq!(rules[1].action, FaultAction::ResetAfter { bytes: 10 });
        assert!(parse_spec("path=/x").is_err());
        assert!(parse_spec("path=/x,status=500,latency-ms=3").is_err());
        assert!(parse_spec("status=500").is_err());
        let shaped = parse_spec("path=*,bandwidth=1000000,count=*").unwrap();
        assert_eq!(shaped[0], FaultRule::bandwidth("*", "*", 1_000_000));
        assert!(shaped[0].is_shaping());
        assert!(parse_spec("path=*,bandwidth=0").is_err());
    }
}
