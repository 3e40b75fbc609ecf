//! The YAML configuration file (profiles) and how the environment overrides it, so that every
//! command sees one [`ResolvedProfile`] with the server URL, TLS settings and credentials to use.
//!
//! Files written by the reference tool load unchanged. Saving never adds a secret: a plaintext
//! password is written back only for a profile that already had it inline in the file.

mod keyring;
mod profile;
mod resolve;
mod yaml;

pub use keyring::{keyring_set_password, OsKeyring, PasswordStore};
pub use profile::{
    password_location, profile_public_json, AliasCredential, Profile, Profiles, ResolvedProfile,
};
pub use resolve::EnvSnapshot;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Map as JsonMap, Value as JsonValue};

use crate::core::error::{Error, Result};
use crate::core::fsutil;

/// Service name under which passwords are stored in the OS keyring.
pub const KEYRING_SERVICE: &str = "xnatctl";
/// The config schema version this build reads and writes.
pub const CURRENT_VERSION: i64 = 1;
/// Default read/write timeout of a profile, in seconds (6 hours).
pub const DEFAULT_TIMEOUT: u64 = 21_600;
/// The `password_source` value that selects the OS keyring.
pub const PASSWORD_SOURCE_KEYRING: &str = "keyring";

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

/// Largest config file read (a real one is a few KiB; `/dev/zero` must not fill memory).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// Deepest nesting accepted in the config file (a real one nests 3 levels).
pub const MAX_CONFIG_DEPTH: usize = 32;

/// Read at most [`MAX_CONFIG_BYTES`] of `path`; more is an error (`InvalidData`).
fn read_capped(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} KiB", MAX_CONFIG_BYTES / 1024),
        ));
    }
    Ok(text)
}

/// The nesting depth of `text` when it exceeds [`MAX_CONFIG_DEPTH`], counted before parsing so
/// the YAML parser never recurses that deep: flow brackets, and block indentation (each level
/// indents at least one column).
fn too_deep(text: &str) -> Option<usize> {
    let mut flow = 0usize;
    let mut deepest = 0usize;
    for line in text.lines() {
        let indent = line.len() - line.trim_start_matches([' ', '-']).len();
        deepest = deepest.max(indent / 2 + 1);
        let mut quote: Option<char> = None;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '#') => break,
                (None, '[' | '{') => {
                    flow += 1;
                    deepest = deepest.max(indent / 2 + flow);
                }
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
        }
    }
    (deepest > MAX_CONFIG_DEPTH).then_some(deepest)
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
        let text = match read_capped(path) {
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
        if let Some(depth) = too_deep(&text) {
            return Err(Error::Config(format!(
                "failed to load config {}: nested more than {MAX_CONFIG_DEPTH} levels (found {depth})",
                path.display()
            )));
        }
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

#[cfg(test)]
mod tests;
