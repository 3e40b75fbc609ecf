//! Owned by the resources/files engineer: see routes/mod.rs for the shared path parameter names.

use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
