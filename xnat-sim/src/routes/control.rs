//! Simulator control endpoints under `/__sim/` (never authenticated, never logged, never faulted).
//!
//! * `GET /__sim/requests` → JSON array of `{method, path, query, status}`; `DELETE` clears it.
//! * `GET /__sim/faults` → active rules; `POST` with a SPEC text body (or a JSON rule / array of
//!   rules) adds rules; `DELETE` removes all.
//! * `POST /__sim/sessions/expire` → every session ends now.
//! * `POST /__sim/clock?advance=SECONDS` → moves the clock alias tokens expire on.
//! * `GET /__sim/health` → `ok`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use crate::envelope::{json, text};
use crate::faults::{parse_spec, FaultRule};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/__sim/health", get(|| async { "ok" }))
        .route("/__sim/requests", get(requests).delete(clear_requests))
        .route(
            "/__sim/faults",
            get(faults).post(add_faults).delete(clear_faults),
        )
        .route("/__sim/sessions/expire", post(expire))
        .route("/__sim/clock", post(clock))
}

async fn clock(State(app): State<AppState>, q: crate::params::Params) -> Response {
    match q.get("advance").and_then(|v| v.parse::<i64>().ok()) {
        Some(secs) => {
            let mut st = app.write();
            st.clock_offset_ms += secs * 1000;
            text(StatusCode::OK, format!("{}", st.clock_ms()))
        }
        None => text(StatusCode::BAD_REQUEST, "advance=SECONDS is required"),
    }
}

async fn requests(State(app): State<AppState>) -> Response {
    let v = serde_json::to_value(&app.read().requests).unwrap_or(Value::Null);
    json(StatusCode::OK, &v)
}

async fn clear_requests(State(app): State<AppState>) -> Response {
    app.write().requests.clear();
    text(StatusCode::OK, "")
}

async fn faults(State(app): State<AppState>) -> Response {
    let v = serde_json::to_value(&app.read().faults).unwrap_or(Value::Null);
    json(StatusCode::OK, &v)
}

async fn add_faults(State(app): State<AppState>, body: Bytes) -> Response {
    let raw = String::from_utf8_lossy(&body);
    let rules: Result<Vec<FaultRule>, String> = if raw.trim_start().starts_with('[') {
        serde_json::from_str(&raw).map_err(|e| e.to_string())
    } else if raw.trim_start().starts_with('{') {
        serde_json::from_str::<FaultRule>(&raw)
            .map(|r| vec![r])
            .map_err(|e| e.to_string())
    } else {
        parse_spec(&raw).map_err(|e| e.to_string())
    };
    match rules {
        Ok(mut rules) => {
            let n = rules.len();
            app.write().faults.append(&mut rules);
            text(StatusCode::OK, format!("{n} rule(s) added"))
        }
        Err(e) => text(StatusCode::BAD_REQUEST, e),
    }
}

async fn clear_faults(State(app): State<AppState>) -> Response {
    app.write().faults.clear();
    text(StatusCode::OK, "")
}

async fn expire(State(app): State<AppState>) -> Response {
    app.write().sessions.clear();
    text(StatusCode::OK, "")
}
