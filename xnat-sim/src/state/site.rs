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

/// An XNAT alias token (`org.nrg.xdat.entities.AliasToken`): a UUID alias and a 64-character
/// secret that authenticate as `user` (Basic `alias:secret`) until `expires_ms` on the simulator's
/// clock, or until invalidated (`enabled = false`).
#[derive(Debug, Clone)]
pub struct AliasToken {
    pub id: u64,
    pub alias: String,
    pub secret: String,
    pub user: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub enabled: bool,
}

impl AliasToken {
    /// The entity as XNAT's serializer writes it (dates as epoch milliseconds).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "alias": self.alias,
            "xdatUserId": self.user,
            "secret": self.secret,
            "singleUse": false,
            "estimatedExpirationTime": self.expires_ms,
            "timestamp": self.created_ms,
            "enabled": self.enabled,
            "created": self.created_ms,
            "id": self.id,
            "disabled": 0,
            "validIPAddresses": [],
        })
    }
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
    pub alias_token: u64,
}
