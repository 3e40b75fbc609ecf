//! The HTTP surface, one router per XNAT area. Every area module exposes `router()`, merged here.
//!
//! Path parameter names are shared across modules (axum needs one name per segment position):
//! `{project}`, `{subject}`, `{experiment}`, `{scan}`, `{resource}`, `{user}`, `{key}`, and
//! `{*path}` for trailing file paths.

// Handlers return a ready `Response` as their error value (axum style); boxing it buys nothing.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod common;
pub mod config_service;
pub mod containers;
pub mod control;
pub mod dicomscp;
pub mod docker;
pub mod events;
pub mod experiment_edit;
pub mod experiments;
pub mod files;
pub mod import;
pub mod pipelines;
pub mod prearchive;
pub mod project_attrs;
pub mod project_edit;
pub mod projects;
pub mod scans;
pub mod search;
pub mod sharing;
pub mod site;
pub mod subject_edit;
pub mod subjects;
pub mod tokens;
pub mod users;
pub mod xsync;

#[cfg(test)]
mod tests_core;
#[cfg(test)]
mod tests_more;

use axum::Router;

use crate::AppState;

/// All routes, with state, but without the outer middleware.
pub fn router(app: AppState) -> Router {
    Router::new()
        .merge(auth::router())
        .merge(config_service::router())
        .merge(control::router())
        .merge(dicomscp::router())
        .merge(experiments::router())
        .merge(files::router())
        .merge(import::router())
        .merge(prearchive::router())
        .merge(project_attrs::router())
        .merge(projects::router())
        .merge(scans::router())
        .merge(search::router())
        .merge(sharing::router())
        .merge(site::router())
        .merge(subjects::router())
        .merge(tokens::router())
        .merge(users::router())
        .merge(docker::router())
        .merge(xsync::router())
        .merge(events::router())
        .merge(pipelines::router())
        .merge(containers::router())
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

/// On-disk paths of the files of these resources (for `removeFiles=true`).
pub fn disk_paths(resources: &[crate::state::Resource]) -> Vec<std::path::PathBuf> {
    resources
        .iter()
        .flat_map(|r| r.files.values())
        .filter_map(|f| match &f.data {
            crate::state::FileData::Disk(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

/// On-disk paths of an experiment's own and scan files.
pub fn experiment_disk_paths(e: &crate::state::Experiment) -> Vec<std::path::PathBuf> {
    let mut out = disk_paths(&e.resources);
    for s in &e.scans {
        out.extend(disk_paths(&s.resources));
    }
    out
}

/// Best-effort removal of stored files.
pub fn remove_paths(paths: &[std::path::PathBuf]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}
