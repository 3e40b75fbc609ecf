//! Sessions and identity: `/data/JSESSION`, `/data/auth`, `/data/services/auth` (fidelity spec §2).

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, put};
use axum::Router;

use crate::envelope::{ok_empty, restlet_page, text, with_type};
use crate::middleware::new_session_id;
use crate::params::{Caller, Params};
use crate::state::Session;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/data/JSESSION",
            get(jsession).post(jsession).delete(end_session),
        )
        .route("/data/auth", get(whoami))
        .route("/data/services/auth", put(login_form).post(login_form))
}

fn csrf_token(sid: &str) -> String {
    // Stable per session so repeated calls agree; never checked (non-browser clients skip CSRF).
    crate::state::md5_hex(format!("csrf:{sid}").as_bytes())
}

async fn jsession(caller: Caller, q: Params) -> Response {
    match (&caller.username, &caller.session_id) {
        (Some(_), Some(sid)) => {
            if q.flag("CSRF") {
                text(
                    StatusCode::OK,
                    format!("{sid}; XNAT_CSRF={}", csrf_token(sid)),
                )
            } else {
                text(StatusCode::OK, sid.clone())
            }
        }
        _ => {
            let mut resp = with_type(
                StatusCode::UNAUTHORIZED,
                "text/html;charset=UTF-8",
                restlet_page(StatusCode::UNAUTHORIZED, ""),
            );
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"XNAT Protected Area\""),
            );
            resp
        }
    }
}

async fn end_session(State(app): State<AppState>, caller: Caller) -> Response {
    if let Some(sid) = &caller.session_id {
        app.write().sessions.remove(sid);
    }
    ok_empty()
}

async fn whoami(caller: Caller, q: Params) -> Response {
    let name = caller.name().to_string();
    let mut body = format!("User '{name}' is logged in");
    if q.flag("CSRF") {
        if let Some(sid) = &caller.session_id {
            body.push_str(&format!("; XNAT_CSRF={}", csrf_token(sid)));
        }
    }
    text(StatusCode::OK, body)
}

/// Form login: `username`/`password` (or `j_username`/`j_password`) → 200 with the session id.
async fn login_form(
    State(app): State<AppState>,
    headers: HeaderMap,
    q: Params,
    body: Bytes,
) -> Response {
    let mut params = q;
    params.merge_form(&headers, &body);
    let user = params
        .get("username")
        .or_else(|| params.get("j_username"))
        .unwrap_or("")
        .to_string();
    let pass = params
        .get("password")
        .or_else(|| params.get("j_password"))
        .unwrap_or("")
        .to_string();
    let mut st = app.write();
    let ok = st
        .users
        .get(&user)
        .is_some_and(|u| u.enabled && u.password == pass);
    if !ok {
        return text(StatusCode::UNAUTHORIZED, "Authentication failed.");
    }
    let sid = new_session_id();
    st.sessions.insert(
        sid.clone(),
        Session {
            username: user,
            last_used: Instant::now(),
        },
    );
    let mut resp = text(StatusCode::OK, sid.clone());
    if let Ok(v) = HeaderValue::from_str(&format!("JSESSIONID={sid}; Path=/; HttpOnly")) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
