//! Site-level records: stored searches, config service entries, the request log, sessions and
//! identifier counters.

use std::time::Instant;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct SavedSearch {
    pub id: String,
    pub brief_description: String,
    pub description: String,
    pub root_element_name: String,
    pub sort_by: String,
    pub sort_order: String,
    pub secure: bool,
    pub tag: String,
    pub users: Vec<String>,
    /// The stored `xdat:stored_search` document as received.
    pub xml: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigEntry {
    pub contents: String,
    pub enabled: bool,
    pub version: u64,
    pub user: String,
    pub create_date: String,
    pub reason: String,
    pub unversioned: bool,
}

/// One handled HTTP request, as seen by the simulator (faulted attempts included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// Raw query string, without `?` (empty when none).
    pub query: String,
    pub status: u16,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub last_used: Instant,
}

/// Monotonic counters for minted identifiers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counters {
    pub subject: u64,
    pub experiment: u64,
    pub resource: u64,
    pub scan_pk: u64,
    pub user: u64,
    pub event: u64,
    pub par: u64,
    pub subscription: u64,
}
