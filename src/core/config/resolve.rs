//! The environment a command runs in and how it overrides the file: picking the profile and
//! applying `XNAT_*` variables and the keyring to produce a [`ResolvedProfile`].

use std::path::PathBuf;

use super::{AliasCredential, Config, OsKeyring, PasswordStore, Profile, ResolvedProfile};
use crate::core::auth::normalize_url;
use crate::core::env;
use crate::core::error::{Error, Result};
use crate::core::tokens::{secret_key, SecretLocation, SecretStore, TokenStore};
use crate::core::validation::validate_server_url;

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
    /// `XNAT_ALIAS`.
    pub xnat_alias: Option<String>,
    /// `XNAT_SECRET`.
    pub xnat_secret: Option<String>,
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
            xnat_alias: var(env::XNAT_ALIAS),
            xnat_secret: var(env::XNAT_SECRET),
            xnat_profile: var(env::XNAT_PROFILE),
            xnat_verify_ssl: var(env::XNAT_VERIFY_SSL),
            xnat_timeout: var(env::XNAT_TIMEOUT),
            xnatctl_config: path(env::XNATCTL_CONFIG),
            xdg_config_home: path(env::XDG_CONFIG_HOME),
            home: dirs::home_dir(),
        }
    }
}

impl Config {
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

        let alias_token = self.alias_token(&name, &url, env, store)?;

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
            alias_token,
        })
    }

    /// The alias token to log in with: `XNAT_ALIAS` + `XNAT_SECRET` (both or neither), else,
    /// unless `XNAT_USER`/`XNAT_PASS` name other credentials, the token stored for the profile.
    fn alias_token(
        &self,
        name: &str,
        url: &str,
        env: &EnvSnapshot,
        store: &dyn PasswordStore,
    ) -> Result<Option<AliasCredential>> {
        match (&env.xnat_alias, &env.xnat_secret) {
            (Some(alias), Some(secret)) => {
                return Ok(Some(AliasCredential {
                    alias: alias.clone(),
                    secret: secret.clone(),
                    stored: None,
                }))
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(Error::Config(format!(
                    "{} and {} go together: set both, or neither",
                    env::XNAT_ALIAS,
                    env::XNAT_SECRET
                )))
            }
            (None, None) => {}
        }
        if env.xnat_user.is_some() || env.xnat_pass.is_some() {
            return Ok(None);
        }
        let Some(dir) = self.path.parent() else {
            return Ok(None);
        };
        let tokens = TokenStore::new(dir);
        let Some(stored) = tokens.get(name, url) else {
            return Ok(None);
        };
        let secret = match stored.secret_in {
            SecretLocation::File => tokens.secret(&stored, &NoSecrets)?,
            SecretLocation::Keyring => store
                .get_token_secret(&secret_key(name, url))
                .unwrap_or_else(|e| {
                    tracing::debug!("keyring lookup of the token of '{name}' failed: {e}");
                    None
                }),
        };
        Ok(secret.map(|secret| AliasCredential {
            alias: stored.alias.clone(),
            secret,
            stored: Some(stored),
        }))
    }
}

/// A secret store with nothing in it, for reading secrets kept in the token file.
struct NoSecrets;

impl SecretStore for NoSecrets {
    fn get(&self, _key: &str) -> Result<Option<String>> {
        Ok(None)
    }
    fn set(&self, _key: &str, _secret: &str) -> Result<()> {
        Err(Error::Config("no secret store".into()))
    }
    fn delete(&self, _key: &str) -> Result<()> {
        Ok(())
    }
}

fn parse_env_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}
