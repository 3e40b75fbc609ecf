//! The one layer every request passes through, before routing: request log, fault injection,
//! path aliases (`/REST`, `/data/archive`), authentication (Basic or JSESSIONID) and cookies.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use crate::envelope;
use crate::faults::FaultAction;
use crate::params::Caller;
use crate::state::{RequestRecord, Session};
use crate::AppState;

/// URLs that need no authentication (Spring "open" URLs).
fn is_open(path: &str) -> bool {
    path == "/data/JSESSION"
        || path == "/data/services/auth"
        || path.starts_with("/xapi/siteConfig/buildInfo")
        || matches!(
            path,
            "/xapi/siteConfig/siteId"
                | "/xapi/siteConfig/siteUrl"
                | "/xapi/siteConfig/siteHome"
                | "/xapi/siteConfig/siteLogoPath"
        )
}

fn is_protected(path: &str) -> bool {
    ["/data", "/xapi", "/REST", "/fs"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// `/REST/...` → `/data/...`; `/data/archive/...` → `/data/...` (Restlet registers both forms).
fn canonical_path(path: &str) -> Option<String> {
    if let Some(rest) = path.strip_prefix("/REST") {
        if rest.is_empty() || rest.starts_with('/') {
            return Some(canonical_path(&format!("/data{rest}")).unwrap_or(format!("/data{rest}")));
        }
    }
    if let Some(rest) = path.strip_prefix("/data/archive") {
        if rest.starts_with('/') {
            return Some(format!("/data{rest}"));
        }
    }
    None
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (user, pass) = raw.split_once(':')?;
    // `providerId/user` is accepted by XNAT; the provider part is irrelevant here.
    let user = user.rsplit('/').next().unwrap_or(user);
    Some((user.to_string(), pass.to_string()))
}

pub fn new_session_id() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::thread_rng().gen();
    hex::encode_upper(bytes)
}

enum AuthOutcome {
    Caller(Caller, bool),
    Failed,
}

fn authenticate(app: &AppState, headers: &HeaderMap) -> AuthOutcome {
    let now = Instant::now();
    let mut st = app.write();
    st.prune_sessions(now);
    let cookie_sid = cookie(headers, "JSESSIONID").map(str::to_string);
    if let Some((user, pass)) = basic_credentials(headers) {
        let ok = st
            .users
            .get(&user)
            .is_some_and(|u| u.enabled && u.password == pass);
        // An alias token authenticates as its owner (XNAT's alias-token authentication provider);
        // an expired or invalidated one fails like a wrong password.
        let user = if ok {
            user
        } else {
            match st.alias_token_user(&user, &pass) {
                Some(owner) if st.users.get(&owner).is_some_and(|u| u.enabled) => owner,
                _ => return AuthOutcome::Failed,
            }
        };
        let admin = st.users[&user].admin;
        // Re-auth is skipped when the cookie's session already belongs to this user.
        if let Some(sid) = &cookie_sid {
            if let Some(s) = st.sessions.get_mut(sid) {
                if s.username == user {
                    s.last_used = now;
                    let caller = Caller {
                        username: Some(user),
                        admin,
                        session_id: Some(sid.clone()),
                    };
                    return AuthOutcome::Caller(caller, false);
                }
            }
        }
        let sid = new_session_id();
        st.sessions.insert(
            sid.clone(),
            Session {
                username: user.clone(),
                last_used: now,
            },
        );
        let caller = Caller {
            username: Some(user),
            admin,
            session_id: Some(sid),
        };
        return AuthOutcome::Caller(caller, true);
    }
    if let Some(sid) = cookie_sid {
        if let Some(s) = st.sessions.get_mut(&sid) {
            s.last_used = now;
            let user = s.username.clone();
            match st.users.get(&user) {
                Some(u) if u.enabled => {
                    let caller = Caller {
                        username: Some(user),
                        admin: u.admin,
                        session_id: Some(sid),
                    };
                    return AuthOutcome::Caller(caller, false);
                }
                _ => {
                    st.sessions.remove(&sid);
                }
            }
        }
    }
    if st.guest_sessions {
        // A site with open access gives anonymous callers a session as `guest`.
        let sid = new_session_id();
        st.sessions.insert(
            sid.clone(),
            Session {
                username: "guest".into(),
                last_used: now,
            },
        );
        let caller = Caller {
            username: Some("guest".into()),
            admin: false,
            session_id: Some(sid),
        };
        return AuthOutcome::Caller(caller, true);
    }
    AuthOutcome::Caller(Caller::default(), false)
}

/// Take the first matching fault rule, consuming one of its uses.
fn take_fault(app: &AppState, method: &str, path: &str) -> Vec<FaultAction> {
    let mut st = app.write();
    let mut actions = Vec::new();
    for rule in st.faults.iter_mut() {
        if rule.matches(method, path) {
            if let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
            let stop = !rule.is_shaping();
            actions.push(rule.action.clone());
            if stop {
                break;
            }
        }
    }
    st.faults.retain(|r| r.remaining != Some(0));
    actions
}

fn record(app: &AppState, method: &str, path: &str, query: &str, status: StatusCode) {
    app.write().requests.push(RequestRecord {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        status: status.as_u16(),
    });
}

/// Cut the body after `limit` bytes: pass chunks through until the limit, then fail the stream
/// so the connection drops. The body is never buffered, so a reset fault on a multi-GiB archive
/// costs no memory; the original Content-Length (if any) is kept so the client sees a short body.
async fn truncate_body(resp: Response, limit: u64) -> Response {
    use futures::StreamExt;
    let (parts, body) = resp.into_parts();
    let reset = || {
        std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "xnat-sim: injected connection reset",
        )
    };
    // State: the remaining body stream and how many bytes may still pass (None = cut done).
    let stream = futures::stream::unfold(
        (body.into_data_stream(), Some(limit)),
        move |(mut inner, budget)| async move {
            let left = budget?;
            if left == 0 {
                // Pause before failing so hyper flushes what was sent: the client sees a
                // response that breaks mid-body, not a refused request.
                tokio::time::sleep(Duration::from_millis(20)).await;
                return Some((Err(reset()), (inner, None)));
            }
            match inner.next().await {
                Some(Ok(chunk)) => {
                    let n = chunk.len() as u64;
                    if n <= left {
                        Some((Ok(chunk), (inner, Some(left - n))))
                    } else {
                        Some((Ok(chunk.slice(..left as usize)), (inner, Some(0))))
                    }
                }
                Some(Err(e)) => Some((Err(std::io::Error::other(e)), (inner, None))),
                // The body was shorter than the limit: it ends normally.
                None => None,
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Pace a body to `rate` bytes per second: each chunk is released when its last byte would have
/// arrived over such a link. Chunks pass unchanged, so memory stays flat.
fn throttle_body(resp: Response, rate: u64) -> Response {
    use futures::StreamExt;
    let (parts, body) = resp.into_parts();
    let start = tokio::time::Instant::now();
    let stream = body.into_data_stream().scan(0u64, move |sent, chunk| {
        if let Ok(c) = &chunk {
            *sent += c.len() as u64;
        }
        let due = start + Duration::from_secs_f64(*sent as f64 / rate as f64);
        async move {
            tokio::time::sleep_until(due).await;
            Some(chunk)
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

pub async fn sim_layer(
    axum::extract::State(app): axum::extract::State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();

    if path.starts_with("/__sim/") {
        return next.run(req).await;
    }

    let mut reset_after = None;
    let mut bandwidth = None;
    for action in take_fault(&app, &method, &path) {
        match action {
            FaultAction::LatencyMs { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            FaultAction::Bandwidth { bytes_per_second } => bandwidth = Some(bytes_per_second),
            FaultAction::ResetAfter { bytes } => reset_after = Some(bytes),
            FaultAction::Status {
                status,
                retry_after,
            } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                let mut resp = if path.starts_with("/xapi") {
                    envelope::xapi_error(status, "")
                } else {
                    envelope::restlet_error(status, "")
                };
                if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
                record(&app, &method, &path, &query, status);
                return resp;
            }
        }
    }

    if let Some(canon) = canonical_path(&path) {
        let pq = if query.is_empty() {
            canon
        } else {
            format!("{canon}?{query}")
        };
        if let Ok(uri) = pq.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    let routed_path = req.uri().path().to_string();

    let (caller, new_session) = match authenticate(&app, req.headers()) {
        AuthOutcome::Caller(c, fresh) => (c, fresh),
        AuthOutcome::Failed => {
            let resp = envelope::tomcat_error(
                StatusCode::UNAUTHORIZED,
                "Login attempt failed. Please try again.",
            );
            record(&app, &method, &path, &query, resp.status());
            return resp;
        }
    };
    if caller.username.is_none() && is_protected(&routed_path) && !is_open(&routed_path) {
        let mut resp = envelope::tomcat_error(
            StatusCode::UNAUTHORIZED,
            "Full authentication is required to access this resource",
        );
        let realm = format!("Basic realm=\"{}\"", app.read().site_id);
        if let Ok(v) = HeaderValue::from_str(&realm) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        record(&app, &method, &path, &query, resp.status());
        return resp;
    }

    let sid = caller.session_id.clone();
    req.extensions_mut().insert(caller);
    let mut resp = next.run(req).await;

    // DELETE /data/JSESSION ends the session: do not re-announce it.
    let still_valid = sid
        .as_ref()
        .is_some_and(|s| app.read().sessions.contains_key(s));
    if let (Some(sid), true) = (&sid, still_valid) {
        if new_session {
            if let Ok(v) = HeaderValue::from_str(&format!("JSESSIONID={sid}; Path=/; HttpOnly")) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        let timeout_ms = app.read().session_timeout.as_millis();
        let value = format!(
            "SESSION_EXPIRATION_TIME=\"{},{}\"; Path=/",
            crate::state::now_millis(),
            timeout_ms
        );
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }

    record(&app, &method, &path, &query, resp.status());
    let resp = match bandwidth {
        Some(rate) => throttle_body(resp, rate),
        None => resp,
    };
    match reset_after {
        Some(limit) => truncate_body(resp, limit).await,
        None => resp,
    }
}

/// Fallback for paths no router claims: Restlet's 404 page under `/data`, empty 404 elsewhere.
pub async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/data") {
        envelope::restlet_error(StatusCode::NOT_FOUND, "")
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases() {
        assert_eq!(
            canonical_path("/REST/projects").as_deref(),
            Some("/data/projects")
        );
        assert_eq!(
            canonical_path("/REST/archive/projects").as_deref(),
            Some("/data/projects")
        );
        assert_eq!(
            canonical_path("/data/archive/experiments/E").as_deref(),
            Some("/data/experiments/E")
        );
        assert_eq!(canonical_path("/data/projects"), None);
        assert_eq!(new_session_id().len(), 32);
    }
}
