//! XNAT alias tokens (`/data/services/tokens/...`, xnat-web's `AliasTokenRestlet`): issue one,
//! list the caller's, revoke one; and the policy that renews a stored token before it expires
//! and explains an expired or rejected one.
//!
//! Every operation is a GET. `issue` answers the token entity (`alias`, `secret`, `xdatUserId`,
//! `estimatedExpirationTime` in epoch milliseconds, ...); `show` a list of them; `invalidate/{alias}`
//! answers `{"result": "OK"}`. The `validate/{alias}/{secret}` operation puts the secret in the
//! URL, where proxies log it, so it is never used: logging in with the token proves it as well.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::client::{seg, ClientOptions, XnatClient};
use crate::core::config::{AliasCredential, ResolvedProfile};
use crate::core::env;
use crate::core::error::snippet;
use crate::core::output::{Item, Row};
use crate::core::tokens::{
    from_epoch_millis, SecretLocation, SecretStore, StoredToken, TokenState, TokenStore,
};
use crate::core::{Error, Result};

/// A token as the server describes it. The secret is read (issue needs it) but never serialised.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServerToken {
    alias: String,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    xdat_user_id: Option<String>,
    #[serde(default)]
    estimated_expiration_time: Option<Value>,
    #[serde(default)]
    created: Option<Value>,
    #[serde(default)]
    single_use: bool,
}

/// Dates arrive as epoch milliseconds (XNAT 1.7+); old servers sent `yyyyMMdd_HHmmss` strings.
fn date_of(v: &Option<Value>) -> Option<DateTime<Utc>> {
    match v.as_ref()? {
        Value::Number(n) => from_epoch_millis(n.as_i64()?),
        Value::String(s) => chrono::NaiveDateTime::parse_from_str(s, "%Y%m%d_%H%M%S")
            .ok()
            .map(|t| t.and_utc()),
        _ => None,
    }
}

fn parse<T: for<'de> Deserialize<'de>>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|_| {
        Error::Operation(format!(
            "the server's answer to {what} is not what XNAT sends: {}",
            snippet(text, 120)
        ))
    })
}

/// One token in `auth token list`: the server's tokens for the caller, marked when it is the one
/// this profile stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRow {
    /// The alias.
    pub alias: String,
    /// The user it acts as.
    pub username: Option<String>,
    /// When it was issued.
    pub created: Option<DateTime<Utc>>,
    /// XNAT's estimated expiration time.
    pub expires_at: Option<DateTime<Utc>>,
    /// Single-use tokens are XNAT's own (password resets); scripts never hold one.
    pub single_use: bool,
    /// True for the token this profile stores.
    pub stored: bool,
}

impl Row for TokenRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("alias", "Alias"),
        ("username", "User"),
        ("created", "Created"),
        ("expires_at", "Expires"),
        ("stored", "Stored here"),
    ];
    const ID: &'static str = "alias";
}

/// `auth token issue` / `show`: a stored token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The profile.
    pub profile: String,
    /// The server.
    pub url: String,
    /// The alias.
    pub alias: String,
    /// The user it acts as.
    pub username: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the next command renews it.
    pub renew_at: Option<DateTime<Utc>>,
    /// `fresh`, `renew` (due for renewal) or `expired`.
    pub state: &'static str,
    /// `keyring` or `file`.
    pub secret_stored_in: &'static str,
}

impl Item for TokenInfo {
    const ID: &'static str = "alias";
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("profile", "Profile"),
        ("url", "URL"),
        ("alias", "Alias"),
        ("username", "User"),
        ("issued_at", "Issued"),
        ("expires_at", "Expires"),
        ("renew_at", "Renewed after"),
        ("state", "State"),
        ("secret_stored_in", "Secret stored in"),
    ];
}

/// The renewal margin from `XNATCTL_TOKEN_RENEW_BEFORE`, when set.
pub fn margin_override() -> Result<Option<u64>> {
    match std::env::var(env::XNATCTL_TOKEN_RENEW_BEFORE) {
        Ok(v) if !v.trim().is_empty() => {
            crate::core::tokens::parse_margin(&v)
                .map(Some)
                .map_err(|_| {
                    Error::Config(format!(
                        "{} must be seconds or a number with s, m, h or d (got '{v}')",
                        env::XNATCTL_TOKEN_RENEW_BEFORE
                    ))
                })
        }
        _ => Ok(None),
    }
}

impl TokenInfo {
    /// The public view of `t` at `now`.
    pub fn of(t: &StoredToken, now: DateTime<Utc>, margin: Option<u64>) -> Self {
        TokenInfo {
            profile: t.profile.clone(),
            url: t.url.clone(),
            alias: t.alias.clone(),
            username: t.username.clone(),
            issued_at: t.issued_at,
            expires_at: t.expires_at,
            renew_at: t.renew_at(margin),
            state: match t.state(now, margin) {
                TokenState::Fresh => "fresh",
                TokenState::DueForRenewal => "renew",
                TokenState::Expired => "expired",
            },
            secret_stored_in: t.secret_in.as_str(),
        }
    }
}

/// A token just issued: its record and its secret.
pub struct Issued {
    /// The record to store.
    pub token: StoredToken,
    /// The secret.
    pub secret: String,
}

/// `GET /data/services/tokens/issue`: a new token for the logged-in user.
pub async fn issue(
    client: &XnatClient,
    profile: &str,
    renew_before_secs: Option<u64>,
) -> Result<Issued> {
    let text = client.get_text("/data/services/tokens/issue", &[]).await?;
    let t: ServerToken = parse(&text, "tokens/issue")?;
    let Some(secret) = t.secret.clone().filter(|s| !s.is_empty()) else {
        return Err(Error::Operation(
            "the server issued a token without a secret".into(),
        ));
    };
    let username = t
        .xdat_user_id
        .clone()
        .or_else(|| client.username().map(str::to_string))
        .unwrap_or_default();
    let token = StoredToken::new(
        profile,
        client.base_url(),
        &t.alias,
        &username,
        date_of(&t.created).unwrap_or_else(Utc::now),
        date_of(&t.estimated_expiration_time),
        renew_before_secs,
    );
    Ok(Issued { token, secret })
}

/// `GET /data/services/tokens/show`: the caller's tokens.
pub async fn list(client: &XnatClient, stored_alias: Option<&str>) -> Result<Vec<TokenRow>> {
    let text = client.get_text("/data/services/tokens/show", &[]).await?;
    let tokens: Vec<ServerToken> = parse(&text, "tokens/show")?;
    Ok(tokens
        .into_iter()
        .map(|t| TokenRow {
            stored: stored_alias == Some(t.alias.as_str()),
            username: t.xdat_user_id.clone(),
            created: date_of(&t.created),
            expires_at: date_of(&t.estimated_expiration_time),
            single_use: t.single_use,
            alias: t.alias,
        })
        .collect())
}

/// `GET /data/services/tokens/invalidate/{alias}`.
pub async fn invalidate(client: &XnatClient, alias: &str) -> Result<()> {
    let path = format!("/data/services/tokens/invalidate/{}", seg(alias)?);
    client
        .get_text(&path, &[])
        .await
        .map_err(|e| e.naming_not_found("alias token", alias))?;
    Ok(())
}

/// The command that gets profile `p` a working token again.
pub fn fix_for(p: &ResolvedProfile, env_token: bool) -> String {
    if env_token {
        return format!(
            "issue a new token (XNAT's 'Manage Alias Tokens' page, or 'xnatctl auth token issue' \
             where you can log in) and update {} and {}",
            env::XNAT_ALIAS,
            env::XNAT_SECRET
        );
    }
    format!(
        "run 'xnatctl auth token issue -p {0}' (it asks for your password); on a single-sign-on \
         site, create a token on XNAT's 'Manage Alias Tokens' page and run \
         'xnatctl auth token set -p {0} --alias ALIAS --secret-stdin'",
        p.name
    )
}

fn expired(p: &ResolvedProfile, cred: &AliasCredential, when: Option<DateTime<Utc>>) -> Error {
    let what = match (&cred.stored, when) {
        (Some(_), Some(t)) => format!(
            "the alias token of profile '{}' for {} expired on {}",
            p.name,
            p.url,
            t.format("%Y-%m-%d %H:%M UTC")
        ),
        (Some(_), None) => format!(
            "{} rejected the alias token of profile '{}': it expired or was revoked",
            p.url, p.name
        ),
        (None, _) => format!(
            "{} rejected the alias token in {}: it expired or was revoked",
            p.url,
            env::XNAT_ALIAS
        ),
    };
    Error::TokenExpired {
        what,
        fix: fix_for(p, cred.stored.is_none()),
    }
}

/// A login refused while the profile uses an alias token means the token is dead: say which
/// one and what to run, instead of asking for a password the user may not have.
pub fn explain_rejection(p: &ResolvedProfile, err: Error) -> Error {
    match (&p.alias_token, &err) {
        (Some(cred), Error::Auth(_) | Error::SessionExpired(_)) => expired(p, cred, None),
        _ => err,
    }
}

/// Before a command runs on a stored token: an expired one stops it (exit 3, with the command
/// to run); one within its renewal margin is replaced by a new one (issued with the old, which
/// is then revoked), announced once on stderr. Returns the new alias and secret when renewed,
/// here or (found under the renewal lock) by a command running at the same time.
/// A renewal that fails for any reason but a rejected token leaves the old one in use.
pub async fn renew_if_due(
    p: &ResolvedProfile,
    cred: &AliasCredential,
    opts: &ClientOptions,
    store: &TokenStore,
    secrets: &dyn SecretStore,
    notice: &dyn Fn(&str),
) -> Result<Option<(String, String)>> {
    let Some(stored) = &cred.stored else {
        return Ok(None);
    };
    let margin = margin_override()?;
    match stored.state(Utc::now(), margin) {
        TokenState::Fresh => return Ok(None),
        TokenState::Expired => return Err(expired(p, cred, stored.expires_at)),
        TokenState::DueForRenewal => {}
    }
    let _renewing = store.renewal_lock().await?;
    // Another command may have renewed it while this one waited: use its successor.
    if let Some(now) = store.get(&stored.profile, &stored.url) {
        if now.alias != stored.alias {
            if let Some(secret) = store.secret(&now, secrets)? {
                tracing::debug!(alias = %now.alias, "the alias token was renewed by another command");
                return Ok(Some((now.alias, secret)));
            }
        }
    }
    let mut o = opts.clone();
    o.username = Some(cred.alias.clone());
    o.password = Some(cred.secret.clone());
    o.session_token = None;
    o.auto_reauth = false;
    let client = XnatClient::new(o)?;
    if let Err(e) = client.authenticate().await {
        return match e {
            Error::Auth(_) => Err(expired(p, cred, None)),
            other => {
                notice(&format!(
                    "could not renew the alias token of profile '{}' ({other}); using it as it is",
                    p.name
                ));
                Ok(None)
            }
        };
    }
    let issued = match issue(&client, &p.name, stored.renew_before_secs).await {
        Ok(i) => i,
        Err(e) => {
            notice(&format!(
                "could not renew the alias token of profile '{}' ({e}); using it as it is",
                p.name
            ));
            client.invalidate_session().await;
            return Ok(None);
        }
    };
    let file_only = file_only()?;
    let (location, why) = store.save(issued.token.clone(), &issued.secret, secrets, file_only)?;
    if let Err(e) = invalidate(&client, &stored.alias).await {
        tracing::debug!(error = %e, "revoking the replaced alias token failed");
    }
    client.invalidate_session().await;
    let until = issued
        .token
        .expires_at
        .map(|t| format!(" until {}", t.format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default();
    notice(&format!(
        "renewed the alias token of profile '{}' (it would expire on {}); the new one is valid{until}",
        p.name,
        stored
            .expires_at
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| "an unknown date".into())
    ));
    if location == SecretLocation::File && !file_only {
        notice(&keyring_fallback_warning(store, why.as_deref()));
    }
    Ok(Some((issued.token.alias, issued.secret)))
}

/// Whether `XNATCTL_TOKEN_STORE` asks for the file instead of the keyring.
pub fn file_only() -> Result<bool> {
    match std::env::var(env::XNATCTL_TOKEN_STORE)
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "" | "keyring" => Ok(false),
        "file" => Ok(true),
        other => Err(Error::Config(format!(
            "{} must be 'keyring' or 'file' (got '{other}')",
            env::XNATCTL_TOKEN_STORE
        ))),
    }
}

/// The warning shown when a secret had to go to the token file.
pub fn keyring_fallback_warning(store: &TokenStore, why: Option<&str>) -> String {
    format!(
        "no usable OS keyring ({}); the token secret is stored in {} (readable by you only)",
        why.unwrap_or("unknown reason"),
        store.path().display()
    )
}
