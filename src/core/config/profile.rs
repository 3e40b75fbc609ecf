//! A stored server profile, the ordered set of them, and a profile resolved against the
//! environment: the plain data the rest of the configuration code passes around.

use std::path::PathBuf;

use serde_json::{json, Value as JsonValue};

use super::{DEFAULT_TIMEOUT, PASSWORD_SOURCE_KEYRING};

/// One server profile as stored in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Base URL of the XNAT server.
    pub url: String,
    /// Verify the server's TLS certificate (default true).
    pub verify_ssl: bool,
    /// PEM file with extra CA certificates to trust.
    pub ca_bundle: Option<String>,
    /// Read/write timeout in seconds (default 21600).
    pub timeout: u64,
    /// Project used when a command needs one and `-P` is not given.
    pub default_project: Option<String>,
    /// User name to log in with.
    pub username: Option<String>,
    /// Plaintext password (discouraged; see `password_source`).
    pub password: Option<String>,
    /// `keyring` to read the password from the OS keyring.
    pub password_source: Option<String>,
    /// Default `--workers` for parallel commands.
    pub workers: Option<usize>,
    /// Upload default: overwrite mode.
    pub overwrite: Option<String>,
    /// Upload default: archive directly instead of via the prearchive.
    pub direct_archive: Option<bool>,
    /// Upload default: archive mode.
    pub archive_mode: Option<String>,
    /// Declared by the reference but never read (kept so files round-trip).
    pub extract: Option<bool>,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            url: String::new(),
            verify_ssl: true,
            ca_bundle: None,
            timeout: DEFAULT_TIMEOUT,
            default_project: None,
            username: None,
            password: None,
            password_source: None,
            workers: None,
            overwrite: None,
            direct_archive: None,
            archive_mode: None,
            extract: None,
        }
    }
}

impl Profile {
    /// A profile for `url` with every other setting at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Profile {
            url: url.into(),
            ..Profile::default()
        }
    }

    /// True when the password lives in the OS keyring.
    pub fn uses_keyring(&self) -> bool {
        self.password_source
            .as_deref()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case(PASSWORD_SOURCE_KEYRING))
    }
}

/// Where a profile's password comes from, for display (never the password itself).
pub fn password_location(profile: &Profile) -> &'static str {
    if profile.uses_keyring() {
        "keyring"
    } else if profile.password.is_some() {
        "inline"
    } else {
        "none"
    }
}

/// A profile as JSON for `config show`: every setting, with the password replaced by where it
/// is stored (`password: "keyring" | "inline" | "none"`).
pub fn profile_public_json(profile: &Profile) -> JsonValue {
    json!({
        "url": profile.url,
        "verify_ssl": profile.verify_ssl,
        "ca_bundle": profile.ca_bundle,
        "timeout": profile.timeout,
        "default_project": profile.default_project,
        "username": profile.username,
        "password": password_location(profile),
        "password_source": profile.password_source,
        "workers": profile.workers,
        "overwrite": profile.overwrite,
        "direct_archive": profile.direct_archive,
        "archive_mode": profile.archive_mode,
        "extract": profile.extract,
    })
}

/// Profiles by name, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profiles(Vec<(String, Profile)>);

impl Profiles {
    /// Number of profiles.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when there is no profile.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Profile names in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(n, _)| n)
    }
    /// `(name, profile)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Profile)> {
        self.0.iter().map(|(n, p)| (n, p))
    }
    /// The profile called `name`.
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, p)| p)
    }
    /// The profile called `name`, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Profile> {
        self.0.iter_mut().find(|(n, _)| n == name).map(|(_, p)| p)
    }
    /// True when a profile called `name` exists.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// Insert or replace (in place) the profile `name`; returns the previous one.
    pub fn insert(&mut self, name: impl Into<String>, profile: Profile) -> Option<Profile> {
        let name = name.into();
        match self.get_mut(&name) {
            Some(slot) => Some(std::mem::replace(slot, profile)),
            None => {
                self.0.push((name, profile));
                None
            }
        }
    }
    /// Remove the profile `name`.
    pub fn remove(&mut self, name: &str) -> Option<Profile> {
        let i = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.remove(i).1)
    }
}

impl<'a> IntoIterator for &'a Profiles {
    type Item = (&'a String, &'a Profile);
    type IntoIter = Box<dyn Iterator<Item = (&'a String, &'a Profile)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// A profile with the environment applied: what a command uses to reach the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedProfile {
    /// Profile name (an ad-hoc profile from `XNAT_URL` is named after the selected profile).
    pub name: String,
    /// Validated server URL without trailing slash.
    pub url: String,
    /// Verify TLS certificates.
    pub verify_ssl: bool,
    /// Extra CA certificates (PEM).
    pub ca_bundle: Option<PathBuf>,
    /// Read/write timeout in seconds.
    pub timeout: u64,
    /// Project used when `-P` is not given.
    pub default_project: Option<String>,
    /// User name (`XNAT_USER` wins).
    pub username: Option<String>,
    /// Password (`XNAT_PASS` wins, then the keyring or the inline password).
    pub password: Option<String>,
    /// `XNAT_TOKEN`: a JSESSIONID to use instead of logging in.
    pub token: Option<String>,
    /// Default worker count.
    pub workers: Option<usize>,
    /// Upload default: overwrite mode.
    pub overwrite: Option<String>,
    /// Upload default: archive directly.
    pub direct_archive: Option<bool>,
    /// Upload default: archive mode.
    pub archive_mode: Option<String>,
    /// The profile reads its password from the keyring but no entry was found (or the keyring
    /// could not be read). Not an error by itself: a token or cached session may still work.
    pub keyring_missing: bool,
    /// True when the URL came from `XNAT_URL`.
    pub url_from_env: bool,
    /// An alias token to log in with instead of the user name and password: `XNAT_ALIAS` +
    /// `XNAT_SECRET`, else the token stored for this profile (`auth token issue`).
    pub alias_token: Option<AliasCredential>,
}

/// An alias token's alias and secret, and, for a stored one, its record (expiry, renewal).
#[derive(Clone, PartialEq, Eq)]
pub struct AliasCredential {
    /// The alias (sent as the user name).
    pub alias: String,
    /// The secret (sent as the password).
    pub secret: String,
    /// The stored record; `None` for `XNAT_ALIAS`/`XNAT_SECRET`.
    pub stored: Option<crate::core::tokens::StoredToken>,
}

impl std::fmt::Debug for AliasCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliasCredential")
            .field("alias", &self.alias)
            .field("secret", &"***")
            .field("stored", &self.stored)
            .finish()
    }
}

impl ResolvedProfile {
    /// The user name logins and the session cache use: an alias token's alias, else the
    /// profile's user name.
    pub fn login_user(&self) -> Option<&str> {
        self.alias_token
            .as_ref()
            .map(|t| t.alias.as_str())
            .or(self.username.as_deref())
    }

    /// A hint for when authentication fails for lack of a password.
    pub fn credentials_hint(&self) -> Option<String> {
        self.keyring_missing.then(|| {
            format!(
                "profile '{}' reads its password from the OS keyring, but there is no entry; run 'xnatctl config set-password {}'",
                self.name, self.name
            )
        })
    }
}
