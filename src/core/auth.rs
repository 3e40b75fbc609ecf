//! The on-disk session cache, so that consecutive commands reuse one XNAT login.
//!
//! Unlike the reference (a single slot for the whole machine, matched by raw URL string), the
//! file holds one entry per normalised server URL and user, so profiles never evict each other and
//! `http://host/` and `http://HOST` share a session. Entries expire 15 minutes after last use.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration as ChronoDuration, Local, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::core::error::Result;
use crate::core::fsutil;

/// File name of the session cache inside the config directory.
pub const SESSION_FILE: &str = ".session";

/// How long a session stays valid after its last use.
pub const SESSION_TTL_MINUTES: i64 = 15;

/// One cached login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedSession {
    /// The JSESSIONID.
    pub token: String,
    /// The normalised server URL it belongs to.
    pub url: String,
    /// The user it was issued to, when known.
    pub username: Option<String>,
    /// When the session was first stored.
    pub created_at: DateTime<Utc>,
    /// When it expires unless used again; `None` never expires (reference files may say so).
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used.
    pub last_used_at: DateTime<Utc>,
}

impl CachedSession {
    fn is_expired(&self, now: DateTime<Utc>) -> bool {
        // The reference ignores the stored expiry and slides from the last use; we do the same so
        // a clock change between runs cannot extend a session.
        self.expires_at.is_some() && now >= self.last_used_at + ttl()
    }

    fn matches(&self, url: &str, username: Option<&str>) -> bool {
        self.url == url
            && match username {
                None => true,
                Some(u) => self
                    .username
                    .as_deref()
                    .is_some_and(|mine| mine.eq_ignore_ascii_case(u)),
            }
    }
}

fn ttl() -> ChronoDuration {
    ChronoDuration::minutes(SESSION_TTL_MINUTES)
}

/// Normalise a server URL into the cache key: scheme and host lowercased, default port dropped,
/// query and fragment dropped, trailing `/` removed; a context path keeps its case.
pub fn normalize_url(url: &str) -> String {
    let trimmed = url.trim();
    match url::Url::parse(trimmed) {
        Ok(mut u) => {
            // The url crate already lowercases scheme and host and drops default ports.
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.as_str().trim_end_matches('/').to_string()
        }
        Err(_) => trimmed.trim_end_matches('/').to_ascii_lowercase(),
    }
}

/// Entry as stored on disk; timestamps are strings so that the reference's naive local
/// timestamps can be read too.
#[derive(Debug, Serialize, Deserialize)]
struct StoredEntry {
    token: String,
    url: String,
    #[serde(default)]
    username: Option<String>,
    created_at: String,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    last_used_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredFile {
    version: u32,
    sessions: Vec<StoredEntry>,
}

const FILE_VERSION: u32 = 2;

fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    // The reference writes naive local `datetime.isoformat()` values.
    let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

fn from_stored(e: StoredEntry) -> Option<CachedSession> {
    if e.token.trim().is_empty() {
        return None;
    }
    let created_at = parse_time(&e.created_at)?;
    let expires_at = match e.expires_at {
        None => None,
        Some(s) => Some(parse_time(&s)?),
    };
    let last_used_at = match e.last_used_at {
        None => created_at,
        Some(s) => parse_time(&s)?,
    };
    Some(CachedSession {
        token: e.token,
        url: normalize_url(&e.url),
        username: e.username.filter(|u| !u.is_empty()),
        created_at,
        expires_at,
        last_used_at,
    })
}

fn to_stored(s: &CachedSession) -> StoredEntry {
    StoredEntry {
        token: s.token.clone(),
        url: s.url.clone(),
        username: s.username.clone(),
        created_at: s.created_at.to_rfc3339(),
        expires_at: s.expires_at.map(|t| t.to_rfc3339()),
        last_used_at: Some(s.last_used_at.to_rfc3339()),
    }
}

/// Reads and writes the session cache file `<config_dir>/.session`.
#[derive(Debug, Clone)]
pub struct AuthManager {
    path: PathBuf,
}

impl AuthManager {
    /// A manager for the cache inside `config_dir` (the file is created on first save).
    pub fn new(config_dir: impl AsRef<Path>) -> Self {
        AuthManager {
            path: config_dir.as_ref().join(SESSION_FILE),
        }
    }

    /// Path of the cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry in the file, expired ones included. A missing or corrupt file reads as empty.
    fn read_all(&self) -> Vec<CachedSession> {
        let Ok(text) = fs::read_to_string(&self.path) else {
            return Vec::new();
        };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
            tracing::debug!(path = %self.path.display(), "session cache is corrupt; ignoring it");
            return Vec::new();
        };
        if value.get("sessions").is_some() {
            match serde_json::from_value::<StoredFile>(value) {
                Ok(f) => f.sessions.into_iter().filter_map(from_stored).collect(),
                Err(_) => Vec::new(),
            }
        } else {
            // The reference's single-entry shape: {"version":1,"token":…,"url":…,…}.
            serde_json::from_value::<StoredEntry>(value)
                .ok()
                .and_then(from_stored)
                .into_iter()
                .collect()
        }
    }

    fn write_all(&self, sessions: &[CachedSession]) -> Result<()> {
        let file = StoredFile {
            version: FILE_VERSION,
            sessions: sessions.iter().map(to_stored).collect(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).expect("session cache serialises");
        bytes.push(b'\n');
        fsutil::write_secret_atomic(&self.path, &bytes)
    }

    /// The live session for `url` and `username` (any user when `None`, most recently used first).
    ///
    /// A hit is "touched": its expiry slides to 15 minutes from now. Expired entries are dropped.
    /// Rewriting the file is best effort; a failure there does not hide the session.
    pub fn load(&self, url: &str, username: Option<&str>) -> Option<CachedSession> {
        self.load_at(url, username, Utc::now())
    }

    fn load_at(
        &self,
        url: &str,
        username: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<CachedSession> {
        if !self.path.exists() {
            return None;
        }
        // Best effort: without the lock a touch may race another writer, which costs at most
        // a stale expiry.
        let _lock = fsutil::lock_exclusive(&self.path).ok();
        let all = self.read_all();
        if all.is_empty() {
            return None;
        }
        let before = all.len();
        let mut live: Vec<CachedSession> = all.into_iter().filter(|s| !s.is_expired(now)).collect();
        let key = normalize_url(url);
        let hit = live
            .iter_mut()
            .filter(|s| s.matches(&key, username))
            .max_by_key(|s| s.last_used_at);
        let found = hit.map(|s| {
            s.last_used_at = now;
            if s.expires_at.is_some() {
                s.expires_at = Some(now + ttl());
            }
            s.clone()
        });
        if found.is_some() || live.len() != before {
            if let Err(e) = self.write_all(&live) {
                tracing::debug!(error = %e, "could not update the session cache");
            }
        }
        found
    }

    /// Hold while logging in to store a new session, from looking for a cached one to saving
    /// the new one: a command starting at the same time waits, then reuses that session instead
    /// of logging in again. A lock of its own, since [`Self::save`] takes the file's lock.
    pub async fn login_lock(&self) -> Result<fsutil::FileLock> {
        fsutil::lock_exclusive_async(&self.login_lock_path()).await
    }

    /// [`Self::login_lock`] for a caller already on a blocking thread.
    pub fn login_lock_blocking(&self) -> Result<fsutil::FileLock> {
        fsutil::lock_exclusive(&self.login_lock_path())
    }

    fn login_lock_path(&self) -> PathBuf {
        self.path.with_file_name(format!("{SESSION_FILE}.login"))
    }

    /// Store `token` for `url` and `username`, replacing that user's previous entry for the URL.
    pub fn save(&self, url: &str, username: Option<&str>, token: &str) -> Result<CachedSession> {
        self.save_at(url, username, token, Utc::now())
    }

    fn save_at(
        &self,
        url: &str,
        username: Option<&str>,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<CachedSession> {
        let key = normalize_url(url);
        let username = username.map(str::to_string).filter(|u| !u.is_empty());
        let _lock = fsutil::lock_exclusive(&self.path)?;
        let mut all: Vec<CachedSession> = self
            .read_all()
            .into_iter()
            .filter(|s| !s.is_expired(now))
            .filter(|s| {
                !(s.url == key
                    && match (&s.username, &username) {
                        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                        (None, None) => true,
                        // An anonymous entry for the same server is superseded by a named one.
                        (None, Some(_)) => true,
                        (Some(_), None) => false,
                    })
            })
            .collect();
        let entry = CachedSession {
            token: token.to_string(),
            url: key,
            username,
            created_at: now,
            expires_at: Some(now + ttl()),
            last_used_at: now,
        };
        all.push(entry.clone());
        self.write_all(&all)?;
        Ok(entry)
    }

    /// Remove the entry for `url` and `username` (every entry for `url` when `None`).
    ///
    /// Returns the removed sessions, so a logout can tell the server about them.
    pub fn remove(&self, url: &str, username: Option<&str>) -> Result<Vec<CachedSession>> {
        let key = normalize_url(url);
        if !self.path.exists() {
            return Ok(Vec::new());
        }
        let _lock = fsutil::lock_exclusive(&self.path)?;
        let (gone, kept): (Vec<_>, Vec<_>) = self
            .read_all()
            .into_iter()
            .partition(|s| s.matches(&key, username));
        if !gone.is_empty() {
            self.write_all(&kept)?;
        }
        Ok(gone)
    }

    /// Every live (unexpired) entry, for `auth status`.
    pub fn list(&self) -> Vec<CachedSession> {
        let now = Utc::now();
        self.read_all()
            .into_iter()
            .filter(|s| !s.is_expired(now))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mgr() -> (tempfile::TempDir, AuthManager) {
        let dir = tempfile::tempdir().unwrap();
        let m = AuthManager::new(dir.path().join("cfg"));
        (dir, m)
    }

    #[test]
    fn url_normalisation() {
        let cases = [
            ("HTTPS://Xnat.Example.ORG:443/", "https://xnat.example.org"),
            ("http://h:80", "http://h"),
            ("http://h:8080/", "http://h:8080"),
            ("https://h/XNAT/", "https://h/XNAT"),
            ("https://h/xnat?x=1#f", "https://h/xnat"),
            ("  http://h/  ", "http://h"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_url(input), want, "{input}");
        }
    }

    #[test]
    fn round_trip_with_private_mode() {
        let (_d, m) = mgr();
        assert!(m.load("http://h", None).is_none());
        m.save("http://H/", Some("alice"), "TOK1").unwrap();
        let s = m.load("http://h", Some("alice")).unwrap();
        assert_eq!(s.token, "TOK1");
        assert_eq!(s.url, "http://h");
        assert_eq!(m.load("http://h/", None).unwrap().token, "TOK1");
        assert!(m.load("http://h", Some("bob")).is_none());
        assert!(m.load("http://other", None).is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(m.path()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn two_servers_and_two_users_coexist() {
        let (_d, m) = mgr();
        m.save("https://a.org", Some("u"), "A").unwrap();
        m.save("https://b.org/xnat", Some("u"), "B").unwrap();
        m.save("https://a.org", Some("v"), "A2").unwrap();
        assert_eq!(m.load("https://a.org", Some("u")).unwrap().token, "A");
        assert_eq!(m.load("https://a.org", Some("V")).unwrap().token, "A2");
        assert_eq!(m.load("https://b.org/xnat/", None).unwrap().token, "B");
        // Saving again for the same user replaces, not duplicates.
        m.save("https://a.org/", Some("u"), "A3").unwrap();
        assert_eq!(m.list().len(), 3);
        assert_eq!(m.load("https://a.org", Some("u")).unwrap().token, "A3");
        // Removing one leaves the others.
        let gone = m.remove("https://a.org", Some("u")).unwrap();
        assert_eq!(gone.len(), 1);
        assert!(m.load("https://a.org", Some("u")).is_none());
        assert_eq!(m.load("https://b.org/xnat", None).unwrap().token, "B");
    }

    #[test]
    fn any_user_lookup_prefers_most_recent() {
        let (_d, m) = mgr();
        let t0 = Utc::now();
        m.save_at("http://h", Some("old"), "OLD", t0).unwrap();
        m.save_at(
            "http://h",
            Some("new"),
            "NEW",
            t0 + ChronoDuration::seconds(5),
        )
        .unwrap();
        let hit = m
            .load_at("http://h", None, t0 + ChronoDuration::seconds(10))
            .unwrap();
        assert_eq!(hit.token, "NEW");
    }

    #[test]
    fn sliding_expiry() {
        let (_d, m) = mgr();
        let t0 = Utc::now();
        m.save_at("http://h", Some("u"), "T", t0).unwrap();
        // Used at +10 min: still valid, and the expiry slides.
        let t1 = t0 + ChronoDuration::minutes(10);
        let s = m.load_at("http://h", Some("u"), t1).unwrap();
        assert_eq!(s.expires_at, Some(t1 + ttl()));
        // +24 min is only 14 minutes after the last use.
        assert!(m
            .load_at("http://h", Some("u"), t0 + ChronoDuration::minutes(24))
            .is_some());
        // 15 minutes of silence expires it, and the entry is dropped from the file.
        let late = t0 + ChronoDuration::minutes(24 + 15);
        assert!(m.load_at("http://h", Some("u"), late).is_none());
        assert!(m.read_all().is_empty());
    }

    #[test]
    fn corrupt_file_reads_as_empty_and_is_replaced() {
        let (_d, m) = mgr();
        fs::create_dir_all(m.path().parent().unwrap()).unwrap();
        fs::write(m.path(), b"{not json").unwrap();
        assert!(m.load("http://h", None).is_none());
        m.save("http://h", Some("u"), "T").unwrap();
        assert_eq!(m.load("http://h", None).unwrap().token, "T");
    }

    #[test]
    fn reads_the_reference_single_entry_file() {
        let (_d, m) = mgr();
        fs::create_dir_all(m.path().parent().unwrap()).unwrap();
        let now = Local::now().naive_local();
        let created = (now - ChronoDuration::minutes(1)).format("%Y-%m-%dT%H:%M:%S%.6f");
        let expires = (now + ChronoDuration::minutes(14)).format("%Y-%m-%dT%H:%M:%S%.6f");
        let legacy = format!(
            r#"{{"version":1,"token":"LEGACY","url":"http://127.0.0.1:8765/","username":"admin","created_at":"{created}","expires_at":"{expires}","last_used_at":"{created}"}}"#
        );
        fs::write(m.path(), legacy).unwrap();
        let s = m.load("http://127.0.0.1:8765", Some("admin")).unwrap();
        assert_eq!(s.token, "LEGACY");
        // The touch rewrote it in the new shape; a new server adds to it.
        m.save("http://other", Some("x"), "X").unwrap();
        assert_eq!(m.list().len(), 2);
    }

    #[test]
    fn expired_reference_file_is_ignored() {
        let (_d, m) = mgr();
        fs::create_dir_all(m.path().parent().unwrap()).unwrap();
        fs::write(
            m.path(),
            r#"{"version":1,"token":"T","url":"http://h","username":"a","created_at":"2020-01-01T00:00:00.000001","expires_at":"2020-01-01T00:15:00","last_used_at":"2020-01-01T00:00:00"}"#,
        )
        .unwrap();
        assert!(m.load("http://h", None).is_none());
    }
}
