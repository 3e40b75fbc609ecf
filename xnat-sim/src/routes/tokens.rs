//! Alias tokens: `GET /data/services/tokens/{operation}[/user/{username}|/{token}[/{secret}]]`.
//!
//! As XNAT's `AliasTokenRestlet` (xnat-web, `org.nrg.xnat.restlet.services`) answers them: every
//! operation is a GET; `issue` returns the new token entity, `show` the caller's tokens, `validate`
//! `{"valid": "<username>"}` (or `{}`), `invalidate` `{"result": "OK"}`. A `{token}` is an alias
//! (UUID shape) or a numeric id, else 404; a non-admin may only touch their own tokens (403); the
//! guest user may not have tokens (403). How a token then authenticates (Basic `alias:secret`) is
//! in the middleware.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::envelope::{json, restlet_error};
use crate::params::Caller;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/data/services/tokens/{op}", get(tokens))
        .route("/data/services/tokens/{op}/user/{username}", get(tokens))
        .route("/data/services/tokens/{op}/{token}", get(tokens))
        .route("/data/services/tokens/{op}/{token}/{secret}", get(tokens))
}

/// XNAT's `AliasToken.isAliasFormat`: a UUID.
pub fn is_alias_format(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn tokens(
    State(app): State<AppState>,
    caller: Caller,
    Path(params): Path<HashMap<String, String>>,
) -> Response {
    let Some(me) = caller.username.clone() else {
        return restlet_error(StatusCode::UNAUTHORIZED, "");
    };
    let op = params.get("op").map(String::as_str).unwrap_or("");
    let mut st = app.write();
    let token_idx = match params.get("token") {
        None => None,
        Some(t) if is_alias_format(t) => match st.alias_tokens.iter().position(|x| &x.alias == t) {
            Some(i) => Some(i),
            None => {
                return restlet_error(
                    StatusCode::NOT_FOUND,
                    &format!("Can't find an alias token with the alias {t}"),
                )
            }
        },
        Some(t) => match t
            .parse::<u64>()
            .ok()
            .and_then(|id| st.alias_tokens.iter().position(|x| x.id == id))
        {
            Some(i) => Some(i),
            None => {
                return restlet_error(
                    StatusCode::NOT_FOUND,
                    &format!("Can't find an alias token with the ID {t}"),
                )
            }
        },
    };
    let username = params
        .get("username")
        .cloned()
        .unwrap_or_else(|| me.clone());
    if username.eq_ignore_ascii_case("guest") {
        return restlet_error(
            StatusCode::FORBIDDEN,
            "The guest user can't request alias tokens",
        );
    }
    let owner_ok = token_idx.is_none_or(|i| st.alias_tokens[i].user.eq_ignore_ascii_case(&me));
    if (!username.eq_ignore_ascii_case(&me) || !owner_ok) && !caller.admin {
        return restlet_error(
            StatusCode::FORBIDDEN,
            "Non-admin users can only request operations on alias tokens for their own account",
        );
    }
    match op {
        "issue" => {
            if !st.users.contains_key(&username) {
                return restlet_error(
                    StatusCode::BAD_REQUEST,
                    &format!("An error occurred retrieving the user: {username}"),
                );
            }
            let token = st.issue_alias_token(&username);
            json(StatusCode::OK, &token.to_json())
        }
        "show" => {
            let list: Vec<Value> = st
                .alias_tokens
                .iter()
                .filter(|t| t.enabled && t.user.eq_ignore_ascii_case(&username))
                .map(|t| t.to_json())
                .collect();
            json(StatusCode::OK, &Value::Array(list))
        }
        "validate" => {
            let (Some(i), Some(secret)) = (token_idx, params.get("secret")) else {
                return restlet_error(
                    StatusCode::UNAUTHORIZED,
                    "You must specify both token and secret to validate a token.",
                );
            };
            let alias = st.alias_tokens[i].alias.clone();
            match st.alias_token_user(&alias, secret) {
                Some(user) => json(StatusCode::OK, &json!({ "valid": user })),
                None => json(StatusCode::OK, &json!({})),
            }
        }
        "invalidate" => {
            if let Some(i) = token_idx {
                st.alias_tokens[i].enabled = false;
            }
            json(StatusCode::OK, &json!({ "result": "OK" }))
        }
        other => restlet_error(
            StatusCode::BAD_REQUEST,
            &format!("Unknown operation: {other}"),
        ),
    }
}
