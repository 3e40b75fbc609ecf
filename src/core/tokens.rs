//! XNAT alias tokens kept for a profile, so scripts and single-sign-on users log in without a
//! password: the alias, its owner and its expiry in `<config_dir>/tokens.json` (mode 0600), the
//! secret in the OS keyring, or, where there is none, in that same file (the caller warns).
//!
//! A token authenticates exactly like a user name and password (Basic `alias:secret`), so the
//! client needs nothing new; what this module adds is where the pair lives, when it is due for
//! renewal, and when it is too late.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::core::auth::normalize_url;
use crate::core::config::KEYRING_SERVICE;
use crate::core::error::{Error, Result};
use crate::core::fsutil;

/// File name of the token registry inside the config directory.
pub const TOKEN_FILE: &str = "tokens.json";

/// Where a token's secret is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretLocation {
    /// The OS keyring (service `xnatctl`, user `token:<profile>@<url>`).
    Keyring,
    /// The token file itself (mode 0600): only where no keyring exists.
    File,
}

impl SecretLocation {
    /// `keyring` or `file`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretLocation::Keyring => "keyring",
            SecretLocation::File => "file",
        }
    }
}

/// One stored token: everything but the secret, which [`TokenStore::secret`] reads.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    /// The profile it belongs to.
    pub profile: String,
    /// The normalised server URL.
    pub url: String,
    /// The token's alias (a UUID); used as the user name when logging in.
    pub alias: String,
    /// The XNAT user the token acts as (`xdatUserId`).
    pub username: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// XNAT's estimated expiration time; `None` when the server did not say.
    pub expires_at: Option<DateTime<Utc>>,
    /// Renew when less than this many seconds are left (`None`: a quarter of its lifetime).
    #[serde(default)]
    pub renew_before_secs: Option<u64>,
    /// Where the secret is.
    pub secret_in: SecretLocation,
    /// The secret, only when `secret_in` is `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl std::fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredToken")
            .field("profile", &self.profile)
            .field("url", &self.url)
            .field("alias", &self.alias)
            .field("username", &self.username)
            .field("expires_at", &self.expires_at)
            .field("secret_in", &self.secret_in)
            .finish_non_exhaustive()
    }
}

/// How a token stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// Valid and not yet due for renewal.
    Fresh,
    /// Valid, but within the renewal margin of its expiry.
    DueForRenewal,
    /// Past its expiry.
    Expired,
}

impl StoredToken {
    /// A record for a token the server just issued (or the user brought from the web page).
    pub fn new(
        profile: &str,
        url: &str,
        alias: &str,
        username: &str,
        issued_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
        renew_before_secs: Option<u64>,
    ) -> Self {
        StoredToken {
            profile: profile.to_string(),
            url: normalize_url(url),
            alias: alias.to_string(),
            username: username.to_string(),
            issued_at,
            expires_at,
            renew_before_secs,
            secret_in: SecretLocation::Keyring,
            secret: None,
        }
    }

    /// The renewal margin: the stored one, else `override_secs`, else a quarter of the lifetime
    /// (12 hours of XNAT's default 2 days, a week of a 30-day token).
    pub fn renew_margin(&self, override_secs: Option<u64>) -> Option<ChronoDuration> {
        let expires = self.expires_at?;
        if let Some(s) = override_secs.or(self.renew_before_secs) {
            return Some(ChronoDuration::seconds(s.min(i64::MAX as u64) as i64));
        }
        Some((expires - self.issued_at) / 4)
    }

    /// When renewal is due; `None` when the expiry is unknown.
    pub fn renew_at(&self, override_secs: Option<u64>) -> Option<DateTime<Utc>> {
        Some(self.expires_at? - self.renew_margin(override_secs)?)
    }

    /// Fresh, due for renewal, or expired at `now`.
    pub fn state(&self, now: DateTime<Utc>, override_secs: Option<u64>) -> TokenState {
        match (self.expires_at, self.renew_at(override_secs)) {
            (Some(exp), _) if now >= exp => TokenState::Expired,
            (_, Some(renew)) if now >= renew => TokenState::DueForRenewal,
            _ => TokenState::Fresh,
        }
    }
}

/// Milliseconds since the epoch (how XNAT serialises dates) as a UTC time.
pub fn from_epoch_millis(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

/// Parse a renewal margin: `90`, `90s`, `30m`, `12h`, `3d`.
pub fn parse_margin(text: &str) -> Result<u64> {
    let t = text.trim();
    let (num, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let n: u64 = num.parse().map_err(|_| {
        Error::usage(format!(
            "invalid duration '{text}': use seconds or a number with s, m, h or d (e.g. 12h, 3d)"
        ))
    })?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(Error::usage(format!(
            "invalid duration '{text}': use seconds or a number with s, m, h or d (e.g. 12h, 3d)"
        )))
        }
    };
    Ok(n.saturating_mul(mult))
}

/// Reads and writes token secrets in a secret store; the OS keyring in production.
pub trait SecretStore {
    /// The secret stored under `key`; `Ok(None)` when there is none.
    fn get(&self, key: &str) -> Result<Option<String>>;
    /// Store `secret` under `key`.
    fn set(&self, key: &str, secret: &str) -> Result<()>;
    /// Remove the secret under `key` (no error when absent).
    fn delete(&self, key: &str) -> Result<()>;
}

/// The OS keyring.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsSecretStore;

fn entry(key: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(KEYRING_SERVICE, key)
        .map_err(|e| Error::Config(format!("cannot use the OS keyring: {e}")))
}

impl SecretStore for OsSecretStore {
    fn get(&self, key: &str) -> Result<Option<String>> {
        match entry(key)?.get_password() {
            Ok(s) => Ok(Some(s)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(Error::Config(format!("cannot read the OS keyring: {e}"))),
        }
    }
    fn set(&self, key: &str, secret: &str) -> Result<()> {
        entry(key)?
            .set_password(secret)
            .map_err(|e| Error::Config(format!("cannot write to the OS keyring: {e}")))?;
        // Some stores (a kernel keyring without a session) accept a write they cannot read back.
        match self.get(key)? {
            Some(s) if s == secret => Ok(()),
            _ => Err(Error::Config(
                "the OS keyring did not keep the secret".into(),
            )),
        }
    }
    fn delete(&self, key: &str) -> Result<()> {
        match entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(Error::Config(format!("cannot update the OS keyring: {e}"))),
        }
    }
}

/// The keyring key of the token for `profile` at `url`.
pub fn secret_key(profile: &str, url: &str) -> String {
    format!("token:{profile}@{}", normalize_url(url))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokenFile {
    version: u32,
    tokens: Vec<StoredToken>,
}

/// The token registry `<config_dir>/tokens.json`: one token per profile and server.
#[derive(Debug, Clone)]
pub struct TokenStore {
    path: PathBuf,
}

impl TokenStore {
    /// The registry inside `config_dir` (created on first save).
    pub fn new(config_dir: impl AsRef<Path>) -> Self {
        TokenStore {
            path: config_dir.as_ref().join(TOKEN_FILE),
        }
    }

    /// Path of the registry.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Vec<StoredToken> {
        let Ok(text) = fs::read_to_string(&self.path) else {
            return Vec::new();
        };
        match serde_json::from_str::<TokenFile>(&text) {
            Ok(f) => f.tokens,
            Err(e) => {
                tracing::debug!(path = %self.path.display(), error = %e, "token file is corrupt; ignoring it");
                Vec::new()
            }
        }
    }

    fn write(&self, tokens: Vec<StoredToken>) -> Result<()> {
        let file = TokenFile { version: 1, tokens };
        let mut bytes = serde_json::to_vec_pretty(&file).expect("token file serialises");
        bytes.push(b'\n');
        fsutil::write_secret_atomic(&self.path, &bytes)
    }

    /// Every stored token (no secrets).
    pub fn list(&self) -> Vec<StoredToken> {
        self.read()
    }

    /// Hold while renewing a stored token, from reading it to saving its successor: a second
    /// process renewing at the same time waits, then finds the new token instead of issuing
    /// another (and logging in with a token the first one just revoked). A lock of its own,
    /// since [`Self::save`] takes the file's lock inside it.
    pub async fn renewal_lock(&self) -> Result<fsutil::FileLock> {
        fsutil::lock_exclusive_async(&self.path.with_file_name(format!("{TOKEN_FILE}.renew"))).await
    }

    /// The token stored for `profile` at `url`, if any.
    pub fn get(&self, profile: &str, url: &str) -> Option<StoredToken> {
        let key = normalize_url(url);
        self.read()
            .into_iter()
            .find(|t| t.profile == profile && t.url == key)
    }

    /// The secret of `token`, from wherever it is kept.
    pub fn secret(&self, token: &StoredToken, secrets: &dyn SecretStore) -> Result<Option<String>> {
        match token.secret_in {
            SecretLocation::File => Ok(token.secret.clone()),
            SecretLocation::Keyring => secrets.get(&secret_key(&token.profile, &token.url)),
        }
    }

    /// Store `token` with `secret`, replacing the profile's previous token; the secret goes to
    /// `secrets` unless `file_only`, falling back to the file when the keyring refuses it.
    /// Returns where the secret went and, for a fallback, why the keyring was not used.
    pub fn save(
        &self,
        mut token: StoredToken,
        secret: &str,
        secrets: &dyn SecretStore,
        file_only: bool,
    ) -> Result<(SecretLocation, Option<String>)> {
        let key = secret_key(&token.profile, &token.url);
        let mut why = None;
        let location = if file_only {
            SecretLocation::File
        } else {
            match secrets.set(&key, secret) {
                Ok(()) => SecretLocation::Keyring,
                Err(e) => {
                    why = Some(e.to_string());
                    SecretLocation::File
                }
            }
        };
        token.secret_in = location;
        token.secret = (location == SecretLocation::File).then(|| secret.to_string());
        let _lock = fsutil::lock_exclusive(&self.path)?;
        let mut all: Vec<StoredToken> = self
            .read()
            .into_iter()
            .filter(|t| !(t.profile == token.profile && t.url == token.url))
            .collect();
        all.push(token);
        self.write(all)?;
        if location == SecretLocation::File {
            // A secret left in the keyring from an earlier token would shadow nothing, but it is
            // a live credential nobody tracks any more.
            let _ = secrets.delete(&key);
        }
        Ok((location, why))
    }

    /// Forget the token for `profile` at `url` (and its keyring secret); returns it.
    pub fn remove(
        &self,
        profile: &str,
        url: &str,
        secrets: &dyn SecretStore,
    ) -> Result<Option<StoredToken>> {
        let key = normalize_url(url);
        if !self.path.exists() {
            return Ok(None);
        }
        let _lock = fsutil::lock_exclusive(&self.path)?;
        let (gone, kept): (Vec<_>, Vec<_>) = self
            .read()
            .into_iter()
            .partition(|t| t.profile == profile && t.url == key);
        let Some(token) = gone.into_iter().next() else {
            return Ok(None);
        };
        self.write(kept)?;
        if token.secret_in == SecretLocation::Keyring {
            secrets.delete(&secret_key(profile, &key))?;
        }
        Ok(Some(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    #[derive(Default)]
    struct FakeStore {
        map: RefCell<HashMap<String, String>>,
        broken: bool,
    }

    impl SecretStore for FakeStore {
        fn get(&self, key: &str) -> Result<Option<String>> {
            Ok(self.map.borrow().get(key).cloned())
        }
        fn set(&self, key: &str, secret: &str) -> Result<()> {
            if self.broken {
                return Err(Error::Config("no keyring here".into()));
            }
            self.map.borrow_mut().insert(key.into(), secret.into());
            Ok(())
        }
        fn delete(&self, key: &str) -> Result<()> {
            self.map.borrow_mut().remove(key);
            Ok(())
        }
    }

    fn token(issued: DateTime<Utc>, days: i64) -> StoredToken {
        StoredToken::new(
            "default",
            "HTTP://H/",
            "0f0e0d0c-0b0a-4908-a706-050403020100",
            "alice",
            issued,
            Some(issued + ChronoDuration::days(days)),
            None,
        )
    }

    #[test]
    fn keyring_keeps_the_secret_out_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let keyring = FakeStore::default();
        let (loc, why) = store
            .save(token(Utc::now(), 2), "S3CRET", &keyring, false)
            .unwrap();
        assert_eq!((loc, why), (SecretLocation::Keyring, None));
        let text = fs::read_to_string(store.path()).unwrap();
        assert!(!text.contains("S3CRET"), "{text}");
        let t = store.get("default", "http://h").unwrap();
        assert_eq!(
            store.secret(&t, &keyring).unwrap().as_deref(),
            Some("S3CRET")
        );
        store.remove("default", "http://h/", &keyring).unwrap();
        assert!(keyring.map.borrow().is_empty());
        assert!(store.get("default", "http://h").is_none());
    }

    #[test]
    fn without_a_keyring_the_secret_goes_to_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let keyring = FakeStore {
            broken: true,
            ..FakeStore::default()
        };
        let (loc, why) = store
            .save(token(Utc::now(), 2), "S3CRET", &keyring, false)
            .unwrap();
        assert_eq!(loc, SecretLocation::File);
        assert!(why.unwrap().contains("no keyring here"));
        let t = store.get("default", "http://h").unwrap();
        assert_eq!(
            store.secret(&t, &keyring).unwrap().as_deref(),
            Some("S3CRET")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store.path()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn renewal_is_due_in_the_last_quarter_unless_a_margin_is_set() {
        let t0 = Utc::now();
        let t = token(t0, 40);
        assert_eq!(
            t.state(t0 + ChronoDuration::days(29), None),
            TokenState::Fresh
        );
        assert_eq!(
            t.state(t0 + ChronoDuration::days(31), None),
            TokenState::DueForRenewal
        );
        assert_eq!(
            t.state(t0 + ChronoDuration::days(40), None),
            TokenState::Expired
        );
        // A 2-day margin from the environment moves the renewal to day 38.
        assert_eq!(
            t.state(t0 + ChronoDuration::days(31), Some(2 * 86_400)),
            TokenState::Fresh
        );
    }

    #[test]
    fn margins_parse_with_units() {
        assert_eq!(parse_margin("90").unwrap(), 90);
        assert_eq!(parse_margin("30m").unwrap(), 1800);
        assert_eq!(parse_margin("12h").unwrap(), 43_200);
        assert_eq!(parse_margin("3d").unwrap(), 259_200);
        assert!(parse_margin("3 weeks").is_err());
        assert!(parse_margin("").is_err());
    }
}
