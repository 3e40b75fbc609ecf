//! The YAML configuration file (profiles) and how the environment overrides it, so that every
//! command sees one [`ResolvedProfile`] with the server URL, TLS settings and credentials to use.
//!
//! Files written by the reference tool load unchanged. Saving never adds a secret: a plaintext
//! password is written back only for a profile that already had it inline in the file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Map as JsonMap, Value as JsonValue};
use serde_yaml_ng::{Mapping, Value};

use crate::core::auth::normalize_url;
use crate::core::env;
use crate::core::error::{Error, Result};
use crate::core::fsutil;
use crate::core::validation::validate_server_url;

/// Service name under which passwords are stored in the OS keyring.
pub const KEYRING_SERVICE: &str = "xnatctl";
/// The config schema version this build reads and writes.
pub const CURRENT_VERSION: i64 = 1;
/// Default read/write timeout of a profile, in seconds (6 hours).
pub const DEFAULT_TIMEOUT: u64 = 21_600;
/// The `password_source` value that selects the OS keyring.
pub const PASSWORD_SOURCE_KEYRING: &str = "keyring";

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

/// The environment variables configuration depends on, captured once per process so that tests
/// can pass their own. Empty values count as unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvSnapshot {
    /// `XNAT_URL`.
    pub xnat_url: Option<String>,
    /// `XNAT_USER`.
    pub xnat_user: Option<String>,
    /// `XNAT_PASS`.
    pub xnat_pass: Option<String>,
    /// `XNAT_TOKEN`.
    pub xnat_token: Option<String>,
    /// `XNAT_PROFILE`.
    pub xnat_profile: Option<String>,
    /// `XNAT_VERIFY_SSL`.
    pub xnat_verify_ssl: Option<String>,
    /// `XNAT_TIMEOUT`.
    pub xnat_timeout: Option<String>,
    /// `XNATCTL_CONFIG`.
    pub xnatctl_config: Option<PathBuf>,
    /// `XDG_CONFIG_HOME`.
    pub xdg_config_home: Option<PathBuf>,
    /// The user's home directory.
    pub home: Option<PathBuf>,
}

impl EnvSnapshot {
    /// Capture the current process environment.
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let path = |name: &str| var(name).map(PathBuf::from);
        EnvSnapshot {
            xnat_url: var(env::XNAT_URL),
            xnat_user: var(env::XNAT_USER),
            xnat_pass: var(env::XNAT_PASS),
            xnat_token: var(env::XNAT_TOKEN),
            xnat_profile: var(env::XNAT_PROFILE),
            xnat_verify_ssl: var(env::XNAT_VERIFY_SSL),
            xnat_timeout: var(env::XNAT_TIMEOUT),
            xnatctl_config: path(env::XNATCTL_CONFIG),
            xdg_config_home: path(env::XDG_CONFIG_HOME),
            home: dirs::home_dir(),
        }
    }
}

/// Reads and writes passwords in a secret store; the OS keyring in production, a fake in tests.
pub trait PasswordStore {
    /// The password for `profile` at `url`; `Ok(None)` when there is no entry.
    fn get_password(&self, profile: &str, url: &str) -> Result<Option<String>>;
}

/// The OS keyring (service `xnatctl`, user `<profile>@<url>`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsKeyring;

fn keyring_entry(profile: &str, url: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(KEYRING_SERVICE, &format!("{profile}@{url}"))
        .map_err(|e| Error::Config(format!("cannot use the OS keyring: {e}")))
}

impl PasswordStore for OsKeyring {
    fn get_password(&self, profile: &str, url: &str) -> Result<Option<String>> {
        match keyring_entry(profile, url)?.get_password() {
            Ok(pw) => Ok(Some(pw)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(Error::Config(format!("cannot read the OS keyring: {e}"))),
        }
    }
}

/// Store `password` in the OS keyring for `profile` at `url` (what `config set-password` does).
pub fn keyring_set_password(profile: &str, url: &str, password: &str) -> Result<()> {
    keyring_entry(profile, url)?
        .set_password(password)
        .map_err(|e| Error::Config(format!("cannot write to the OS keyring: {e}")))
}

/// A profile with the environment applied: what a command uses to reach the server.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

impl ResolvedProfile {
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

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Schema version declared by the file (1 when absent).
    pub version: i64,
    /// Profile used when neither `-p` nor `XNAT_PROFILE` is given.
    pub default_profile: String,
    /// Stored and shown, but output format is chosen by `-o` only.
    pub output_format: String,
    /// Diagnostics log path (after `--log-file` and `XNATCTL_LOG_FILE`).
    pub log_file: Option<PathBuf>,
    /// False disables the update notice.
    pub update_check: bool,
    /// The profiles, in file order.
    pub profiles: Profiles,
    path: PathBuf,
    inline_passwords: BTreeSet<String>,
    warnings: Vec<String>,
}

impl Config {
    /// An empty configuration that will be saved to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Config {
            version: CURRENT_VERSION,
            default_profile: "default".into(),
            output_format: "table".into(),
            log_file: None,
            update_check: true,
            profiles: Profiles::default(),
            path: path.into(),
            inline_passwords: BTreeSet::new(),
            warnings: Vec::new(),
        }
    }

    /// The config file path: `XNATCTL_CONFIG`, else `$XDG_CONFIG_HOME/xnatctl/config.yaml`, else
    /// `~/.config/xnatctl/config.yaml`.
    pub fn default_path() -> PathBuf {
        Self::default_path_in(&EnvSnapshot::from_process())
    }

    /// [`Config::default_path`] computed from a captured environment.
    pub fn default_path_in(env: &EnvSnapshot) -> PathBuf {
        if let Some(p) = &env.xnatctl_config {
            return p.clone();
        }
        Self::base_dir(env).join("config.yaml")
    }

    /// The directory holding the config, the session cache and the audit log: the directory of
    /// [`Config::default_path`].
    pub fn config_dir() -> PathBuf {
        Self::config_dir_in(&EnvSnapshot::from_process())
    }

    /// [`Config::config_dir`] computed from a captured environment.
    pub fn config_dir_in(env: &EnvSnapshot) -> PathBuf {
        match Self::default_path_in(env).parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    fn base_dir(env: &EnvSnapshot) -> PathBuf {
        let base = match &env.xdg_config_home {
            Some(x) if x.is_absolute() => x.clone(),
            _ => env
                .home
                .clone()
                .unwrap_or_else(|| PathBuf::from("."))
                .join(".config"),
        };
        base.join("xnatctl")
    }

    /// Where this configuration is saved.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Warnings found while loading (unknown keys, readable plaintext password, version), for
    /// the CLI to print.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Load `path`; a missing file gives an empty configuration.
    pub fn load(path: &Path) -> Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Config::new(path));
            }
            Err(e) => {
                return Err(Error::Config(format!(
                    "failed to load config {}: {e}",
                    path.display()
                )))
            }
        };
        let mut cfg = Self::parse(&text, path)
            .map_err(|m| Error::Config(format!("failed to load config {}: {m}", path.display())))?;
        if !cfg.inline_passwords.is_empty() && readable_by_others(path) {
            let first = cfg
                .inline_passwords
                .iter()
                .next()
                .cloned()
                .unwrap_or_default();
            cfg.warnings.push(format!(
                "{} holds a plaintext password and is readable by other users; run 'chmod 600 {}', or move the password to the OS keyring with 'xnatctl config set-password {first}'",
                path.display(),
                path.display()
            ));
        }
        for w in &cfg.warnings {
            tracing::debug!("{w}");
        }
        Ok(cfg)
    }

    /// Parse YAML text (as read from `path`) into a configuration.
    pub fn parse(text: &str, path: &Path) -> std::result::Result<Config, String> {
        let mut cfg = Config::new(path);
        let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        let top = match doc {
            Value::Null => return Ok(cfg),
            Value::Mapping(m) => m,
            other => {
                return Err(format!(
                    "the top level must be a mapping, not {}",
                    kind(&other)
                ))
            }
        };
        let mut unknown: Vec<String> = Vec::new();
        let mut unknown_top: Vec<String> = Vec::new();
        for (k, v) in &top {
            let key = key_string(k);
            match key.as_str() {
                "version" => cfg.version = parse_version(v, &mut cfg.warnings),
                "default_profile" => {
                    if let Some(s) = opt_string(v, "default_profile")? {
                        cfg.default_profile = s;
                    }
                }
                "output_format" => {
                    if let Some(s) = opt_string(v, "output_format")? {
                        cfg.output_format = s;
                    }
                }
                "log_file" => cfg.log_file = opt_string(v, "log_file")?.map(PathBuf::from),
                "update_check" => {
                    cfg.update_check = opt_bool(v, "update_check")?.unwrap_or(true);
                }
                "profiles" => {}
                _ => unknown_top.push(key),
            }
        }
        if !unknown_top.is_empty() {
            unknown.push(format!("top-level: {}", unknown_top.join(", ")));
        }
        if let Some(profiles) = top.iter().find(|(k, _)| key_string(k) == "profiles") {
            match profiles.1 {
                Value::Null => {}
                Value::Mapping(m) => {
                    for (k, v) in m {
                        let name = key_string(k);
                        let (profile, extra, inline) = parse_profile(&name, v)?;
                        if !extra.is_empty() {
                            unknown.push(format!("profile '{name}': {}", extra.join(", ")));
                        }
                        if inline {
                            cfg.inline_passwords.insert(name.clone());
                        }
                        cfg.profiles.insert(name, profile);
                    }
                }
                other => return Err(format!("'profiles' must be a mapping, not {}", kind(other))),
            }
        }
        if !unknown.is_empty() {
            cfg.warnings.push(format!(
                "{} has unrecognized config keys, ignoring: {}",
                path.display(),
                unknown.join("; ")
            ));
        }
        Ok(cfg)
    }

    /// The YAML text [`Config::save`] writes.
    pub fn to_yaml(&self) -> Result<String> {
        let mut top = Mapping::new();
        top.insert("version".into(), Value::from(CURRENT_VERSION));
        top.insert(
            "default_profile".into(),
            Value::from(self.default_profile.as_str()),
        );
        top.insert(
            "output_format".into(),
            Value::from(self.output_format.as_str()),
        );
        if let Some(l) = &self.log_file {
            top.insert("log_file".into(), Value::from(l.to_string_lossy().as_ref()));
        }
        if !self.update_check {
            top.insert("update_check".into(), Value::Bool(false));
        }
        let mut profiles = Mapping::new();
        for (name, p) in self.profiles.iter() {
            let mut m = Mapping::new();
            m.insert("url".into(), Value::from(p.url.as_str()));
            m.insert("verify_ssl".into(), Value::Bool(p.verify_ssl));
            m.insert("timeout".into(), Value::from(p.timeout));
            m.insert("default_project".into(), opt_value(&p.default_project));
            put_opt(&mut m, "ca_bundle", &p.ca_bundle);
            put_opt(&mut m, "username", &p.username);
            // Never add a secret: only a password that was already inline in the file survives.
            if p.password_source.is_none() && self.inline_passwords.contains(name) {
                put_opt(&mut m, "password", &p.password);
            }
            put_opt(&mut m, "password_source", &p.password_source);
            if let Some(w) = p.workers {
                m.insert("workers".into(), Value::from(w as u64));
            }
            put_opt(&mut m, "overwrite", &p.overwrite);
            if let Some(b) = p.direct_archive {
                m.insert("direct_archive".into(), Value::Bool(b));
            }
            put_opt(&mut m, "archive_mode", &p.archive_mode);
            if let Some(b) = p.extract {
                m.insert("extract".into(), Value::Bool(b));
            }
            profiles.insert(Value::from(name.as_str()), Value::Mapping(m));
        }
        top.insert("profiles".into(), Value::Mapping(profiles));
        serde_yaml_ng::to_string(&Value::Mapping(top))
            .map_err(|e| Error::Config(format!("cannot serialise the config: {e}")))
    }

    /// Write the configuration to [`Config::path`] atomically with mode 0600. Refuses when the
    /// file declared a newer schema version than this build understands.
    pub fn save(&self) -> Result<()> {
        if self.version > CURRENT_VERSION {
            return Err(Error::Config(format!(
                "refusing to save {}: it declares config version {}, newer than this xnatctl supports ({CURRENT_VERSION}); upgrade xnatctl",
                self.path.display(),
                self.version
            )));
        }
        let text = self.to_yaml()?;
        fsutil::write_secret_atomic(&self.path, text.as_bytes())
    }

    /// The profile called `name`.
    pub fn get_profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// True when a profile called `name` exists.
    pub fn has_profile(&self, name: &str) -> bool {
        self.profiles.contains_key(name)
    }

    /// Add or replace the profile `name`. A replaced profile loses its inline password on the
    /// next save unless it is set again in the file by hand.
    pub fn add_profile(&mut self, name: &str, profile: Profile) {
        self.inline_passwords.remove(name);
        self.profiles.insert(name, profile);
    }

    /// Remove the profile `name`.
    pub fn remove_profile(&mut self, name: &str) -> Result<Profile> {
        self.inline_passwords.remove(name);
        self.profiles
            .remove(name)
            .ok_or_else(|| Error::ProfileNotFound(name.to_string()))
    }

    /// Make `name` the default profile; it must exist.
    pub fn set_default_profile(&mut self, name: &str) -> Result<()> {
        if !self.has_profile(name) {
            return Err(Error::ProfileNotFound(name.to_string()));
        }
        self.default_profile = name.to_string();
        Ok(())
    }

    /// The configuration as JSON for `config show`; passwords appear only as where they are
    /// stored, never as values.
    pub fn display_json(&self) -> JsonValue {
        let mut profiles = JsonMap::new();
        for (name, p) in self.profiles.iter() {
            profiles.insert(name.clone(), profile_public_json(p));
        }
        json!({
            "config_file": self.path.display().to_string(),
            "version": self.version,
            "default_profile": self.default_profile,
            "output_format": self.output_format,
            "log_file": self.log_file.as_ref().map(|p| p.display().to_string()),
            "update_check": self.update_check,
            "profiles": profiles,
        })
    }

    /// Select the profile (`-p` > `XNAT_PROFILE` > `default_profile`) and apply the environment,
    /// reading a keyring password from the OS keyring.
    pub fn resolve(
        &self,
        profile_flag: Option<&str>,
        env: &EnvSnapshot,
    ) -> Result<ResolvedProfile> {
        self.resolve_with(profile_flag, env, &OsKeyring)
    }

    /// [`Config::resolve`] with an explicit password store (tests pass a fake).
    pub fn resolve_with(
        &self,
        profile_flag: Option<&str>,
        env: &EnvSnapshot,
        store: &dyn PasswordStore,
    ) -> Result<ResolvedProfile> {
        let explicit = profile_flag
            .filter(|s| !s.is_empty())
            .or(env.xnat_profile.as_deref());
        let name = explicit.unwrap_or(&self.default_profile).to_string();
        let env_url = env.xnat_url.as_deref().filter(|s| !s.trim().is_empty());

        let file_profile = self.get_profile(&name);
        let mut profile = match (file_profile, env_url) {
            (Some(p), _) => p.clone(),
            // CI with only XNAT_URL (+ token or user/pass) and no config needs no file at all.
            (None, Some(_)) if self.profiles.is_empty() || explicit.is_none() => Profile::default(),
            (None, _) if self.profiles.is_empty() => {
                return Err(Error::NoConfig {
                    path: self.path.clone(),
                })
            }
            (None, _) => {
                let names: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
                return Err(Error::ProfileNotFound(format!(
                    "{name} (available: {})",
                    names.join(", ")
                )));
            }
        };
        // The keyring entry is keyed by the URL as written in the file.
        let file_url = profile.url.clone();

        if let Some(url) = env_url {
            let same_server =
                file_profile.is_some() && normalize_url(&file_url) == normalize_url(url);
            if !same_server {
                // Never send one server's credentials to another.
                profile.username = None;
                profile.password = None;
                profile.password_source = None;
                profile.default_project = None;
            }
            profile.url = url.to_string();
        }
        if let Some(v) = &env.xnat_verify_ssl {
            profile.verify_ssl = parse_env_bool(v).ok_or_else(|| {
                Error::Config(format!(
                    "{} must be one of true/false/1/0/yes/no (got '{v}')",
                    env::XNAT_VERIFY_SSL
                ))
            })?;
        }
        if let Some(v) = &env.xnat_timeout {
            profile.timeout = v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    Error::Config(format!(
                        "{} must be a positive whole number of seconds (got '{v}')",
                        env::XNAT_TIMEOUT
                    ))
                })?;
        }
        if profile.url.trim().is_empty() {
            return Err(Error::Config(format!(
                "profile '{name}' has no url; set it in {} or set {}",
                self.path.display(),
                env::XNAT_URL
            )));
        }
        let url = validate_server_url(&profile.url)?;

        let mut keyring_missing = false;
        let password = if let Some(pw) = &env.xnat_pass {
            Some(pw.clone())
        } else if profile.uses_keyring() {
            match store.get_password(&name, &file_url) {
                Ok(Some(pw)) => Some(pw),
                Ok(None) => {
                    keyring_missing = true;
                    None
                }
                Err(e) => {
                    tracing::debug!("keyring lookup for profile '{name}' failed: {e}");
                    keyring_missing = true;
                    None
                }
            }
        } else {
            profile.password.clone()
        };

        Ok(ResolvedProfile {
            name,
            url,
            verify_ssl: profile.verify_ssl,
            ca_bundle: profile.ca_bundle.map(PathBuf::from),
            timeout: profile.timeout,
            default_project: profile.default_project,
            username: env.xnat_user.clone().or(profile.username),
            password,
            token: env.xnat_token.clone(),
            workers: profile.workers,
            overwrite: profile.overwrite,
            direct_archive: profile.direct_archive,
            archive_mode: profile.archive_mode,
            keyring_missing,
            url_from_env: env_url.is_some(),
        })
    }
}

fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o077 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

fn parse_env_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// YAML allows non-string keys (`123:`, `true:`); they are used as their text.
fn key_string(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => "null".into(),
        other => serde_yaml_ng::to_string(other)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

fn parse_version(v: &Value, warnings: &mut Vec<String>) -> i64 {
    let n = match v {
        Value::Null => return CURRENT_VERSION,
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n >= 1 => {
            if n > CURRENT_VERSION {
                warnings.push(format!(
                    "config version {n} is newer than this xnatctl supports ({CURRENT_VERSION}); loading what it can, and saving is refused"
                ));
            }
            n
        }
        _ => {
            warnings.push(format!(
                "config 'version' is not a valid version number ({}); treating it as {CURRENT_VERSION}",
                key_string(v)
            ));
            CURRENT_VERSION
        }
    }
}

fn opt_string(v: &Value, field: &str) -> std::result::Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(format!("{field}: expected a string, not {}", kind(other))),
    }
}

fn opt_bool(v: &Value, field: &str) -> std::result::Result<Option<bool>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::Number(n) if n.as_i64() == Some(0) => Ok(Some(false)),
        Value::Number(n) if n.as_i64() == Some(1) => Ok(Some(true)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(Some(true)),
            "false" | "no" | "off" | "0" => Ok(Some(false)),
            _ => Err(format!("{field}: expected true or false, not '{s}'")),
        },
        other => Err(format!(
            "{field}: expected true or false, not {}",
            kind(other)
        )),
    }
}

fn opt_uint(v: &Value, field: &str) -> std::result::Result<Option<u64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or_else(|| format!("{field}: expected a whole number, not {n}")),
        Value::String(s) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("{field}: expected a whole number, not '{s}'")),
        other => Err(format!(
            "{field}: expected a whole number, not {}",
            kind(other)
        )),
    }
}

fn parse_profile(
    name: &str,
    v: &Value,
) -> std::result::Result<(Profile, Vec<String>, bool), String> {
    let mut p = Profile::default();
    let mut extra = Vec::new();
    let map = match v {
        Value::Null => return Ok((p, extra, false)),
        Value::Mapping(m) => m,
        other => {
            return Err(format!(
                "profile '{name}' must be a mapping, not {}",
                kind(other)
            ))
        }
    };
    for (k, val) in map {
        let key = key_string(k);
        let field = format!("profiles.{name}.{key}");
        match key.as_str() {
            "url" => p.url = opt_string(val, &field)?.unwrap_or_default(),
            "verify_ssl" => p.verify_ssl = opt_bool(val, &field)?.unwrap_or(true),
            "ca_bundle" => p.ca_bundle = opt_string(val, &field)?,
            "timeout" => {
                p.timeout = match opt_uint(val, &field)? {
                    Some(0) => return Err(format!("{field}: must be at least 1 second")),
                    Some(n) => n,
                    None => DEFAULT_TIMEOUT,
                }
            }
            "default_project" => p.default_project = opt_string(val, &field)?,
            "username" => p.username = opt_string(val, &field)?,
            "password" => p.password = opt_string(val, &field)?,
            "password_source" => p.password_source = opt_string(val, &field)?,
            "workers" => p.workers = opt_uint(val, &field)?.map(|n| n as usize),
            "overwrite" => p.overwrite = opt_string(val, &field)?,
            "direct_archive" => p.direct_archive = opt_bool(val, &field)?,
            "archive_mode" => p.archive_mode = opt_string(val, &field)?,
            "extract" => p.extract = opt_bool(val, &field)?,
            _ => extra.push(key),
        }
    }
    let inline = p.password.is_some();
    Ok((p, extra, inline))
}

fn opt_value(v: &Option<String>) -> Value {
    v.as_deref().map_or(Value::Null, Value::from)
}

fn put_opt(m: &mut Mapping, key: &str, v: &Option<String>) {
    if let Some(s) = v {
        m.insert(key.into(), Value::from(s.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::collections::HashMap;

    const FIXTURE: &str = include_str!("../../tests/fixtures/python-config.yaml");

    struct FakeStore {
        entries: HashMap<String, String>,
        calls: Cell<usize>,
    }

    impl FakeStore {
        fn new(entries: &[(&str, &str)]) -> Self {
            FakeStore {
                entries: entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                calls: Cell::new(0),
            }
        }
    }

    impl PasswordStore for FakeStore {
        fn get_password(&self, profile: &str, url: &str) -> Result<Option<String>> {
            self.calls.set(self.calls.get() + 1);
            Ok(self.entries.get(&format!("{profile}@{url}")).cloned())
        }
    }

    fn parse(text: &str) -> Config {
        Config::parse(text, Path::new("/tmp/cfg.yaml")).expect("parses")
    }

    #[test]
    fn missing_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config::load(&dir.path().join("nope.yaml")).unwrap();
        assert!(cfg.profiles.is_empty());
        assert_eq!(cfg.default_profile, "default");
        assert!(cfg.update_check);
    }

    #[test]
    fn python_fixture_loads_and_round_trips_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, FIXTURE).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let cfg = Config::load(&path).unwrap();
        assert!(cfg.warnings().is_empty(), "{:?}", cfg.warnings());
        assert_eq!(cfg.default_profile, "default");
        assert_eq!(
            cfg.profiles.keys().collect::<Vec<_>>(),
            ["default", "prod", "ci"]
        );
        let d = cfg.get_profile("default").unwrap();
        assert_eq!(d.url, "https://xnat.example.org");
        assert_eq!(d.password.as_deref(), Some("s3cret-pw"));
        let prod = cfg.get_profile("prod").unwrap();
        assert!(!prod.verify_ssl);
        assert_eq!(prod.timeout, 300);
        assert_eq!(prod.default_project.as_deref(), Some("MYPROJ"));
        assert!(prod.uses_keyring());
        assert_eq!(prod.workers, Some(8));
        assert_eq!(prod.ca_bundle.as_deref(), Some("/etc/ssl/certs/site.pem"));
        cfg.save().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), FIXTURE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn unknown_and_non_string_keys_give_one_warning() {
        let cfg = parse(
            "weird: 1\nprofiles:\n  default:\n    url: http://h\n    bogus_key: x\n  123:\n    url: http://n\n",
        );
        assert_eq!(cfg.warnings().len(), 1);
        assert_eq!(
            cfg.warnings()[0],
            "/tmp/cfg.yaml has unrecognized config keys, ignoring: top-level: weird; profile 'default': bogus_key"
        );
        assert_eq!(cfg.get_profile("123").unwrap().url, "http://n");
    }

    #[test]
    fn bad_shapes_are_config_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        for bad in [
            "- a\n- b\n",
            "profiles: [1]\n",
            "profiles:\n  p:\n    timeout: soon\n",
            "profiles:\n  p:\n    verify_ssl: maybe\n",
            "key: [unclosed\n",
        ] {
            std::fs::write(&path, bad).unwrap();
            let e = Config::load(&path).unwrap_err();
            assert!(matches!(e, Error::Config(_)), "{bad:?}: {e}");
            assert!(e.to_string().starts_with("failed to load config"), "{e}");
        }
        std::fs::write(&path, "").unwrap();
        assert!(Config::load(&path).unwrap().profiles.is_empty());
    }

    #[test]
    fn version_rules() {
        assert_eq!(parse("profiles: {}\n").version, 1);
        let quoted = parse("version: \"2\"\n");
        assert_eq!(quoted.version, 2);
        assert!(matches!(quoted.save(), Err(Error::Config(m)) if m.contains("refusing to save")));
        let junk = parse("version: banana\n");
        assert_eq!(junk.version, 1);
        assert!(junk.warnings()[0].contains("not a valid version"));
    }

    #[test]
    fn save_never_adds_a_password_but_keeps_an_inline_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config.yaml");
        let mut cfg = Config::load(&path).unwrap();
        let mut p = Profile::new("https://a.org");
        p.username = Some("alice".into());
        p.password = Some("added-secret".into());
        cfg.add_profile("a", p);
        cfg.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("added-secret"), "{text}");
        assert!(text.contains("username: alice"));
        assert!(text.contains("default_project: null"));

        std::fs::write(
            &path,
            "profiles:\n  a:\n    url: https://a.org\n    password: kept-pw\n",
        )
        .unwrap();
        let mut cfg = Config::load(&path).unwrap();
        cfg.add_profile("b", Profile::new("https://b.org"));
        cfg.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("password: kept-pw"), "{text}");
    }

    #[test]
    fn profile_management() {
        let mut cfg = Config::new("/tmp/x.yaml");
        cfg.add_profile("a", Profile::new("http://a"));
        cfg.add_profile("b", Profile::new("http://b"));
        cfg.add_profile("a", Profile::new("http://a2"));
        assert_eq!(cfg.profiles.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(cfg.get_profile("a").unwrap().url, "http://a2");
        assert!(cfg.set_default_profile("zzz").is_err());
        cfg.set_default_profile("b").unwrap();
        assert_eq!(cfg.default_profile, "b");
        assert!(cfg.remove_profile("a").is_ok());
        assert!(matches!(
            cfg.remove_profile("a"),
            Err(Error::ProfileNotFound(_))
        ));
        assert!(!cfg.has_profile("a"));
    }

    #[test]
    fn display_json_never_contains_a_password() {
        let cfg = parse(FIXTURE);
        let shown = cfg.display_json().to_string();
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert_eq!(
            cfg.display_json()["profiles"]["default"]["password"],
            "inline"
        );
        assert_eq!(
            cfg.display_json()["profiles"]["prod"]["password"],
            "keyring"
        );
    }

    #[test]
    fn default_path_precedence() {
        let mut env = EnvSnapshot {
            home: Some("/home/u".into()),
            ..EnvSnapshot::default()
        };
        assert_eq!(
            Config::default_path_in(&env),
            PathBuf::from("/home/u/.config/xnatctl/config.yaml")
        );
        env.xdg_config_home = Some("/xdg".into());
        assert_eq!(
            Config::default_path_in(&env),
            PathBuf::from("/xdg/xnatctl/config.yaml")
        );
        assert_eq!(Config::config_dir_in(&env), PathBuf::from("/xdg/xnatctl"));
        env.xnatctl_config = Some("/etc/x.yaml".into());
        assert_eq!(Config::default_path_in(&env), PathBuf::from("/etc/x.yaml"));
    }

    fn two_profiles() -> Config {
        parse(
            "default_profile: a\nprofiles:\n  a:\n    url: https://a.org/\n    username: ua\n    password: pa\n    default_project: PA\n  b:\n    url: https://b.org\n    username: ub\n",
        )
    }

    #[test]
    fn profile_selection_precedence() {
        let cfg = two_profiles();
        let store = FakeStore::new(&[]);
        let env = EnvSnapshot::default();
        assert_eq!(cfg.resolve_with(None, &env, &store).unwrap().name, "a");
        let env = EnvSnapshot {
            xnat_profile: Some("b".into()),
            ..EnvSnapshot::default()
        };
        assert_eq!(cfg.resolve_with(None, &env, &store).unwrap().name, "b");
        assert_eq!(cfg.resolve_with(Some("a"), &env, &store).unwrap().name, "a");
        let e = cfg.resolve_with(Some("zz"), &env, &store).unwrap_err();
        assert!(
            matches!(e, Error::ProfileNotFound(ref m) if m.contains("available: a, b")),
            "{e}"
        );
        let empty = Config::new("/tmp/none.yaml");
        assert!(matches!(
            empty.resolve_with(None, &EnvSnapshot::default(), &store),
            Err(Error::NoConfig { .. })
        ));
    }

    #[test]
    fn xnat_url_without_config_makes_an_ad_hoc_profile() {
        let cfg = Config::new("/tmp/none.yaml");
        let env = EnvSnapshot {
            xnat_url: Some("https://ci.example.org/".into()),
            xnat_token: Some("TOK".into()),
            ..EnvSnapshot::default()
        };
        let p = cfg.resolve_with(None, &env, &FakeStore::new(&[])).unwrap();
        assert_eq!(p.url, "https://ci.example.org");
        assert_eq!(p.token.as_deref(), Some("TOK"));
        assert_eq!(p.timeout, DEFAULT_TIMEOUT);
        assert!(p.url_from_env);
    }

    #[test]
    fn xnat_url_keeps_credentials_only_for_the_same_server() {
        let cfg = two_profiles();
        let store = FakeStore::new(&[]);
        let same = EnvSnapshot {
            xnat_url: Some("HTTPS://A.ORG".into()),
            ..EnvSnapshot::default()
        };
        let p = cfg.resolve_with(None, &same, &store).unwrap();
        assert_eq!(p.url, "HTTPS://A.ORG");
        assert_eq!(p.username.as_deref(), Some("ua"));
        assert_eq!(p.password.as_deref(), Some("pa"));
        assert_eq!(p.default_project.as_deref(), Some("PA"));

        let other = EnvSnapshot {
            xnat_url: Some("https://evil.example".into()),
            ..EnvSnapshot::default()
        };
        let p = cfg.resolve_with(None, &other, &store).unwrap();
        assert_eq!(p.url, "https://evil.example");
        assert_eq!(p.username, None);
        assert_eq!(p.password, None);
        assert_eq!(p.default_project, None);
    }

    #[test]
    fn verify_ssl_and_timeout_apply_without_xnat_url() {
        let cfg = two_profiles();
        let store = FakeStore::new(&[]);
        let env = EnvSnapshot {
            xnat_verify_ssl: Some(" No ".into()),
            xnat_timeout: Some("30".into()),
            ..EnvSnapshot::default()
        };
        let p = cfg.resolve_with(None, &env, &store).unwrap();
        assert!(!p.verify_ssl);
        assert_eq!(p.timeout, 30);
        for (ssl, timeout) in [
            (Some("maybe"), None),
            (None, Some("abc")),
            (None, Some("0")),
        ] {
            let env = EnvSnapshot {
                xnat_verify_ssl: ssl.map(Into::into),
                xnat_timeout: timeout.map(Into::into),
                ..EnvSnapshot::default()
            };
            let e = cfg.resolve_with(None, &env, &store).unwrap_err();
            assert!(matches!(e, Error::Config(_)), "{e}");
        }
    }

    #[test]
    fn env_credentials_win() {
        let cfg = two_profiles();
        let env = EnvSnapshot {
            xnat_user: Some("envuser".into()),
            xnat_pass: Some("envpass".into()),
            ..EnvSnapshot::default()
        };
        let p = cfg.resolve_with(None, &env, &FakeStore::new(&[])).unwrap();
        assert_eq!(p.username.as_deref(), Some("envuser"));
        assert_eq!(p.password.as_deref(), Some("envpass"));
    }

    #[test]
    fn keyring_password_and_missing_entry() {
        let cfg = parse(
            "profiles:\n  default:\n    url: https://k.org\n    username: u\n    password_source: keyring\n",
        );
        let store = FakeStore::new(&[("default@https://k.org", "from-keyring")]);
        let p = cfg
            .resolve_with(None, &EnvSnapshot::default(), &store)
            .unwrap();
        assert_eq!(p.password.as_deref(), Some("from-keyring"));
        assert!(!p.keyring_missing);

        let empty = FakeStore::new(&[]);
        let p = cfg
            .resolve_with(None, &EnvSnapshot::default(), &empty)
            .unwrap();
        assert_eq!(p.password, None);
        assert!(p.keyring_missing);
        assert!(p
            .credentials_hint()
            .unwrap()
            .contains("config set-password default"));

        let env = EnvSnapshot {
            xnat_pass: Some("env".into()),
            ..EnvSnapshot::default()
        };
        let counting = FakeStore::new(&[]);
        let p = cfg.resolve_with(None, &env, &counting).unwrap();
        assert_eq!(p.password.as_deref(), Some("env"));
        assert_eq!(
            counting.calls.get(),
            0,
            "keyring must not be read when XNAT_PASS is set"
        );
    }

    #[test]
    fn invalid_profile_url_is_reported() {
        let cfg = parse("profiles:\n  default:\n    url: ftp://x\n");
        let e = cfg
            .resolve_with(None, &EnvSnapshot::default(), &FakeStore::new(&[]))
            .unwrap_err();
        assert!(matches!(e, Error::InvalidUrl { .. }), "{e}");
    }
}
