//! The configuration service and anonymization scripts (fidelity spec §14): `/data/config/...`
//! (site), `/data/projects/{P}/config/...` (project), and the XAPI `/xapi/anonymize/...` views of
//! the same stored scripts.
//!
//! Storage keys in [`crate::state::State::configs`]: `site/{tool}/{path}` and
//! `projects/{P}/{tool}/{path}`. The project anonymization script is tool `anon`, path
//! `projects/{P}` (XNAT's quirk), so `/xapi/anonymize/projects/P` and
//! `/data/projects/P/config/anon/projects/P` are the same entry. Only the latest version is kept.
//!
//! [`store`] reads and writes the entries, [`config`] answers the `/data/.../config` URLs and
//! [`anonymize`] the XAPI ones.

mod anonymize;
mod config;
mod store;

use axum::routing::get;
use axum::Router;

use crate::AppState;
use anonymize::*;
use config::*;

/// What `/xapi/anonymize/default` answers.
pub const DEFAULT_ANON_SCRIPT: &str = "version \"6.1\"\n// Default site-wide anonymization script (xnat-sim)\n(0010,0010) := project\n(0010,0020) := subject\n(0008,0050) := session\n";

/// The config service and XAPI anonymization routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/data/config", get(site_tools))
        .route("/data/config/{tool}", get(site_tool))
        .route(
            "/data/config/{tool}/{*path}",
            get(site_get)
                .put(site_put)
                .post(site_put)
                .delete(site_delete),
        )
        .route("/data/projects/{project}/config", get(project_tools))
        .route("/data/projects/{project}/config/{tool}", get(project_tool))
        .route(
            "/data/projects/{project}/config/{tool}/{*path}",
            get(project_get)
                .put(project_put)
                .post(project_put)
                .delete(project_delete),
        )
        .route("/xapi/anonymize/default", get(anon_default))
        .route(
            "/xapi/anonymize/site",
            get(anon_site_get).put(anon_site_put),
        )
        .route(
            "/xapi/anonymize/site/enabled",
            get(anon_site_enabled).put(anon_site_set_enabled),
        )
        .route(
            "/xapi/anonymize/projects/{project}",
            get(anon_project_get).put(anon_project_put),
        )
        .route(
            "/xapi/anonymize/projects/{project}/enabled",
            get(anon_project_enabled).put(anon_project_set_enabled),
        )
}

#[cfg(test)]
mod tests;
