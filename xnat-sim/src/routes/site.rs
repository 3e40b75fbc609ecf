//! Site configuration and build info (`/xapi/siteConfig...`).

use axum::Router;
use serde_json::{json, Map, Value};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}

/// Preference defaults worth mirroring (fidelity spec §15).
pub fn default_site_config() -> Map<String, Value> {
    let v = json!({
        "siteId": "XNAT",
        "siteUrl": "",
        "initialized": false,
        "requireLogin": true,
        "enableCsrfToken": true,
        "sessionTimeout": "15 minutes",
        "aliasTokenTimeout": "2 days",
        "archivePath": "/data/xnat/archive",
        "prearchivePath": "/data/xnat/prearchive",
        "cachePath": "/data/xnat/cache",
        "buildPath": "/data/xnat/build",
        "ftpPath": "/data/xnat/ftp",
        "pipelinePath": "/data/xnat/pipeline",
        "inboxPath": "/data/xnat/inbox",
        "checksums": true,
        "enableDicomReceiver": true,
        "uiAllowNonAdminProjectCreation": true,
        "securityAllowNonPrivateProjects": true,
        "uiDefaultCompressedUploaderImporter": "DICOM-zip",
        "zipExtensions": "zip,jar,rar,ear,gar,mrb",
        "primaryAdminUsername": "admin",
        "concurrentMaxSessions": 1000,
        "userRegistration": false,
        "siteHome": "/screens/QuickSearch.vm"
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
