//! Passwords kept in the OS keyring, behind a small trait so that tests can pass a fake store.

use super::KEYRING_SERVICE;
use crate::core::error::{Error, Result};

/// Reads and writes passwords in a secret store; the OS keyring in production, a fake in tests.
pub trait PasswordStore {
    /// The password for `profile` at `url`; `Ok(None)` when there is no entry.
    fn get_password(&self, profile: &str, url: &str) -> Result<Option<String>>;

    /// The secret of an alias token stored under `key` (see [`crate::core::tokens`]).
    fn get_token_secret(&self, key: &str) -> Result<Option<String>> {
        let _ = key;
        Ok(None)
    }
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

    fn get_token_secret(&self, key: &str) -> Result<Option<String>> {
        use crate::core::tokens::SecretStore;
        crate::core::tokens::OsSecretStore.get(key)
    }
}

/// Store `password` in the OS keyring for `profile` at `url` (what `config set-password` does).
pub fn keyring_set_password(profile: &str, url: &str, password: &str) -> Result<()> {
    keyring_entry(profile, url)?
        .set_password(password)
        .map_err(|e| {
            // On Linux the store is the kernel keyring of the login session; containers and some
            // CI runners have none, and keyutils then reports a confusing "no matching entry".
            Error::Config(format!(
                "cannot write to the OS keyring ({e}); on Linux it needs a kernel session keyring. \
                 Use 'xnatctl auth login' to cache a session, or XNAT_USER/XNAT_PASS instead"
            ))
        })
}
