//! How a command gets its authenticated client: `XNAT_TOKEN`, else the cached session for this
//! server and user, else a fresh login with the profile's credentials (then cached). Sessions the
//! client renews are written back; a cached session the server rejects, with no credentials to
//! replace it, is dropped so later commands stop sending it.

use std::sync::Arc;

use crate::core::auth::AuthManager;
use crate::core::client::{ClientOptions, XnatClient};
use crate::core::config::ResolvedProfile;
use crate::core::{Error, Result};

/// Where the client's session came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSource {
    /// `XNAT_TOKEN` (or the profile's token): the caller's, never cached.
    Token,
    /// The session cache.
    Cache,
    /// A login made now with the profile's credentials.
    Login,
}

impl SessionSource {
    /// The reference's `auth_mode` word: every source ends in a JSESSIONID, so `session`.
    pub fn auth_mode(self) -> &'static str {
        "session"
    }
}

/// The authenticated client for profile `p`, built from `opts` (URL, TLS, timeouts, the
/// profile's credentials), with `cache` as the session store. `warn` reports problems that do
/// not stop the command (a cache that cannot be written).
pub async fn connect(
    p: &ResolvedProfile,
    mut opts: ClientOptions,
    cache: &AuthManager,
    warn: &dyn Fn(&str),
) -> Result<(XnatClient, SessionSource)> {
    // The user name logged in with: the profile's, or an alias token's alias.
    let login_user = opts.username.clone();
    let has_password = opts.password.is_some();
    let cached = match p.token {
        Some(_) => None,
        None => cache.load(&p.url, login_user.as_deref()),
    };
    let mut source = match (&p.token, &cached) {
        (Some(_), _) => SessionSource::Token,
        (None, Some(_)) => SessionSource::Cache,
        (None, None) => SessionSource::Login,
    };
    let cached_user = cached.as_ref().and_then(|s| s.username.clone());
    opts.session_token = p.token.clone().or(cached.map(|s| s.token));
    if opts.username.is_none() {
        opts.username = cached_user;
    }
    let client = XnatClient::new(opts)?;
    let user_for_cache = login_user
        .clone()
        .or_else(|| client.username().map(str::to_string));
    if client.token().is_none() {
        if login_user.is_none() || !has_password {
            return Err(Error::Auth(not_logged_in(p)));
        }
        // Best effort: without the lock two commands at once only make one login too many.
        let _login = cache.login_lock().await.ok();
        match cache.load(&p.url, login_user.as_deref()) {
            // Another command logged in while this one waited.
            Some(s) => {
                client.set_token(Some(s.token));
                source = SessionSource::Cache;
            }
            None => {
                let token = client.authenticate().await?;
                if let Some(user) = &user_for_cache {
                    if let Err(e) = cache.save(&p.url, Some(user), &token) {
                        warn(&format!("could not cache the session: {e}"));
                    }
                }
            }
        }
    }
    if source == SessionSource::Cache {
        let (url, user, cache) = (
            p.url.clone(),
            client.username().map(str::to_string),
            cache.clone(),
        );
        client.set_rejected_token_listener(Arc::new(move |token: &str| {
            let stale = cache
                .load(&url, user.as_deref())
                .is_some_and(|s| s.token == token);
            if stale {
                let _ = cache.remove(&url, user.as_deref());
            }
        }));
    }
    // A token from XNAT_TOKEN belongs to the caller; only what we obtained is cached.
    if source != SessionSource::Token {
        if let Some(user) = user_for_cache.clone() {
            // A server that dropped the session rejects every command using it at once: the
            // first to log in again stores the new session, the others wait and take it.
            let (url, cache) = (p.url.clone(), cache.clone());
            client.set_relogin_hook(Arc::new(move |rejected: Option<&str>| {
                let guard = cache.login_lock_blocking().ok();
                let fresh = cache
                    .load(&url, Some(&user))
                    .map(|s| s.token)
                    .filter(|t| Some(t.as_str()) != rejected);
                (fresh, Box::new(guard))
            }));
        }
        if let Some(user) = user_for_cache {
            let (url, cache) = (p.url.clone(), cache.clone());
            client.set_token_listener(Arc::new(move |token: &str| {
                let _ = cache.save(&url, Some(&user), token);
            }));
        }
    }
    Ok((client, source))
}

/// The message for a profile with neither a session nor usable credentials; names the keyring
/// when the profile expects its password there but the entry is missing.
pub fn not_logged_in(p: &ResolvedProfile) -> String {
    match p.credentials_hint() {
        Some(hint) => format!("not logged in to {} ({hint})", p.url),
        None => format!("not logged in to {} (profile '{}')", p.url, p.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn profile(
        url: &str,
        user: Option<&str>,
        pass: Option<&str>,
        token: Option<&str>,
    ) -> ResolvedProfile {
        ResolvedProfile {
            name: "default".into(),
            url: url.into(),
            verify_ssl: true,
            ca_bundle: None,
            timeout: 30,
            default_project: None,
            username: user.map(str::to_string),
            password: pass.map(str::to_string),
            token: token.map(str::to_string),
            ..ResolvedProfile::default()
        }
    }

    fn options(p: &ResolvedProfile) -> ClientOptions {
        let mut o = ClientOptions::new(&p.url);
        o.username = p.username.clone();
        o.password = p.password.clone();
        o.auto_reauth = true;
        o
    }

    async fn login_server() -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/data/JSESSION"))
            .respond_with(
                ResponseTemplate::new(200).set_body_string("ABCDEF0123456789ABCDEF0123456789"),
            )
            .expect(1)
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn a_fresh_login_is_cached_and_the_next_connect_reuses_it() {
        let server = login_server().await;
        let dir = tempfile::tempdir().unwrap();
        let cache = AuthManager::new(dir.path());
        let p = profile(&server.uri(), Some("alice"), Some("pw"), None);
        let (client, source) = connect(&p, options(&p), &cache, &|_| {}).await.unwrap();
        assert_eq!(source, SessionSource::Login);
        assert_eq!(
            client.token().as_deref(),
            Some("ABCDEF0123456789ABCDEF0123456789")
        );
        let (_, again) = connect(&p, options(&p), &cache, &|_| {}).await.unwrap();
        assert_eq!(
            again,
            SessionSource::Cache,
            "the second command makes no login"
        );
        assert_eq!(again.auth_mode(), "session");
    }

    #[tokio::test]
    async fn a_token_is_used_as_is_and_never_cached() {
        let dir = tempfile::tempdir().unwrap();
        let cache = AuthManager::new(dir.path());
        let p = profile("http://127.0.0.1:9", Some("alice"), None, Some("TOKEN"));
        let (client, source) = connect(&p, options(&p), &cache, &|_| {}).await.unwrap();
        assert_eq!(source, SessionSource::Token);
        assert_eq!(client.token().as_deref(), Some("TOKEN"));
        assert!(cache.list().is_empty());
    }

    #[tokio::test]
    async fn no_session_and_no_password_is_an_auth_error_naming_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let cache = AuthManager::new(dir.path());
        let p = profile("http://127.0.0.1:9", Some("alice"), None, None);
        let e = connect(&p, options(&p), &cache, &|_| {}).await.unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(
            e.to_string()
                .contains("not logged in to http://127.0.0.1:9"),
            "{e}"
        );
    }
}
