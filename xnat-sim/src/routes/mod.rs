//! The HTTP surface, one router per XNAT area. Every area module exposes `router()`, merged here.
//!
//! Path parameter names are shared across modules (axum needs one name per segment position):
//! `{project}`, `{subject}`, `{experiment}`, `{scan}`, `{resource}`, `{user}`, `{key}`, and
//! `{*path}` for trailing file paths.

pub mod auth;
pub mod control;
pub mod experiments;
pub mod files;
pub mod import;
pub mod prearchive;
pub mod projects;
pub mod scans;
pub mod site;
pub mod subjects;
pub mod users;

use axum::Router;

use crate::AppState;

/// All routes, with state, but without the outer middleware.
pub fn router(app: AppState) -> Router {
    Router::new()
        .merge(auth::router())
        .merge(control::router())
        .merge(experiments::router())
        .merge(files::router())
        .merge(import::router())
        .merge(prearchive::router())
        .merge(projects::router())
        .merge(scans::router())
        .merge(site::router())
        .merge(subjects::router())
        .merge(users::router())
        .fallback(crate::middleware::not_found)
        .with_state(app)
}

/// The full service. The simulator middleware sits on an outer router whose only route is the
/// fallback (the real router), so it runs before routing and can rewrite `/REST` and
/// `/data/archive` paths.
pub fn service(app: AppState) -> Router {
    Router::new()
        .fallback_service(router(app.clone()))
        .layer(axum::middleware::from_fn_with_state(
            app,
            crate::middleware::sim_layer,
        ))
}
