//! `xnatctl auth token issue|list|show|revoke|set`: XNAT alias tokens as the profile's
//! credential. The secret never reaches stdout, stderr, a log or the audit file: it goes from
//! the server (or stdin, for `set`) straight to the OS keyring or the 0600 token file.

use chrono::Utc;
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::cli::shared::args::{ConfirmArgs, ListArgs};
use crate::cli::shared::mutate::mutate;
use crate::cli::shared::{password_from_stdin, password_or_prompt, prompt_line};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::client::XnatClient;
use crate::core::config::ResolvedProfile;
use crate::core::tokens::{OsSecretStore, SecretLocation, StoredToken, TokenState};
use crate::core::{Error, Result};
use crate::services::tokens::{self, TokenInfo};

/// The `auth token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Ask the server for an alias token and store it as this profile's credential
    Issue(IssueArgs),
    /// List your alias tokens on the server
    List(ListTokensArgs),
    /// Show the alias token stored for this profile (never its secret; no network)
    Show,
    /// Revoke an alias token on the server (default: this profile's) and forget it here
    Revoke(RevokeArgs),
    /// Store an alias token created elsewhere (XNAT's 'Manage Alias Tokens' page)
    Set(SetArgs),
}

/// Arguments of `auth token issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Renew the token when less than this is left (e.g. 12h, 7d; default: a quarter of its life)
    #[arg(long, value_name = "DURATION")]
    pub renew_before: Option<String>,
    /// Log in as this user to ask for the token (default: the profile's credentials)
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// Read the password for that login from the first line of stdin
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Arguments of `auth token list`.
#[derive(Debug, Args)]
pub struct ListTokensArgs {
    #[command(flatten)]
    pub list: ListArgs,
}

/// Arguments of `auth token revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The alias to revoke (default: the token stored for this profile)
    pub alias: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Arguments of `auth token set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// The token's alias
    #[arg(long)]
    pub alias: String,
    /// Read the token's secret from the first line of stdin (required: never a command-line value)
    #[arg(long)]
    pub secret_stdin: bool,
}

/// Run an `auth token` subcommand.
pub async fn run(cmd: TokenCommand, ctx: &Context) -> Result<()> {
    match cmd {
        TokenCommand::Issue(a) => issue(a, ctx).await,
        TokenCommand::List(a) => list(a, ctx).await,
        TokenCommand::Show => show(ctx),
        TokenCommand::Revoke(a) => revoke(a, ctx).await,
        TokenCommand::Set(a) => set(a, ctx).await,
    }
}

/// A client logged in with a user name and password, for when the profile's token cannot be
/// used (there is none, it has expired, or `-u`/`--password-stdin` ask for a password login).
async fn password_client(
    ctx: &Context,
    p: &ResolvedProfile,
    username: Option<String>,
    stdin: bool,
) -> Result<XnatClient> {
    let username = match username.or_else(|| p.username.clone()) {
        Some(u) => u,
        None => prompt_line("Username: ")?,
    };
    let piped = stdin.then(password_from_stdin).transpose()?;
    let password = password_or_prompt(
        piped,
        p.password.clone(),
        &format!("Password for {username}: "),
    )?;
    let mut opts = ctx.client_options()?;
    opts.username = Some(username);
    opts.password = Some(password);
    opts.session_token = None;
    opts.auto_reauth = false;
    let client = XnatClient::new(opts)?;
    client.authenticate().await?;
    Ok(client)
}

fn token_usable(p: &ResolvedProfile) -> bool {
    match &p.alias_token {
        None => false,
        Some(t) => t.stored.as_ref().is_none_or(|s| {
            s.state(Utc::now(), tokens::margin_override().ok().flatten()) != TokenState::Expired
        }),
    }
}

fn fallback_warning(ctx: &Context, location: SecretLocation, why: Option<&str>) -> Result<()> {
    if location == SecretLocation::File && !tokens::file_only()? {
        ctx.messages()
            .warn(&tokens::keyring_fallback_warning(&ctx.token_store(), why));
    }
    Ok(())
}

async fn issue(a: IssueArgs, ctx: &Context) -> Result<()> {
    let renew_before = a
        .renew_before
        .as_deref()
        .map(crate::core::tokens::parse_margin)
        .transpose()?;
    let file_only = tokens::file_only()?;
    let p = ctx.profile()?;
    let rec = AuditRecord::new("auth token issue");
    let question = format!(
        "Issue a new alias token on {} for profile '{}'?",
        p.url, p.name
    );
    mutate(ctx, &question, &a.confirm, rec, |mode, _notes| async move {
        if !mode.apply() {
            ctx.messages().dry_run(&format!(
                "Would issue an alias token on {} and store it for profile '{}'",
                p.url, p.name
            ));
            return Ok(());
        }
        let mut own_login = a.password_stdin || a.username.is_some() || !token_usable(p);
        let client = if own_login {
            password_client(ctx, p, a.username.clone(), a.password_stdin).await?
        } else {
            match ctx.client().await {
                Ok(c) => c.clone(),
                // The server no longer takes the stored token: this is how to replace it.
                Err(Error::TokenExpired { .. }) => {
                    own_login = true;
                    password_client(ctx, p, None, false).await?
                }
                Err(e) => return Err(e),
            }
        };
        let issued = tokens::issue(&client, &p.name, renew_before).await?;
        let store = ctx.token_store();
        let previous = store.get(&p.name, &p.url);
        let (location, why) = store.save(
            issued.token.clone(),
            &issued.secret,
            &OsSecretStore,
            file_only,
        )?;
        // The token it replaces would otherwise stay valid, unseen, until it expires.
        if let Some(old) = previous.filter(|o| o.alias != issued.token.alias) {
            if let Err(e) = tokens::invalidate(&client, &old.alias).await {
                tracing::debug!(error = %e, "revoking the replaced alias token failed");
            }
        }
        if own_login {
            client.invalidate_session().await;
        }
        fallback_warning(ctx, location, why.as_deref())?;
        let stored = store
            .get(&p.name, &p.url)
            .ok_or_else(|| Error::Operation("the issued token was not stored".into()))?;
        let margin = tokens::margin_override()?;
        ctx.messages().success(&format!(
            "issued an alias token for {} on {}; profile '{}' now logs in with it",
            stored.username, p.url, p.name
        ));
        ctx.out().item(&TokenInfo::of(&stored, Utc::now(), margin))
    })
    .await
}

async fn list(a: ListTokensArgs, ctx: &Context) -> Result<()> {
    let controls = a.list.controls()?;
    let p = ctx.profile()?;
    let stored = ctx.token_store().get(&p.name, &p.url).map(|t| t.alias);
    let client = ctx.client().await?;
    let rows = tokens::list(client, stored.as_deref()).await?;
    ctx.out().rows(&rows, &controls)
}

fn stored_or_not_found(ctx: &Context, p: &ResolvedProfile) -> Result<StoredToken> {
    ctx.token_store().get(&p.name, &p.url).ok_or_else(|| {
        Error::not_found(
            "alias token",
            format!(
                "none stored for profile '{}' (run 'xnatctl auth token issue -p {}')",
                p.name, p.name
            ),
        )
    })
}

fn show(ctx: &Context) -> Result<()> {
    let p = ctx.profile()?;
    let t = stored_or_not_found(ctx, p)?;
    let margin = tokens::margin_override()?;
    ctx.out().item(&TokenInfo::of(&t, Utc::now(), margin))
}

async fn revoke(a: RevokeArgs, ctx: &Context) -> Result<()> {
    let p = ctx.profile()?;
    let store = ctx.token_store();
    let stored = store.get(&p.name, &p.url);
    let alias = match (&a.alias, &stored) {
        (Some(x), _) => x.clone(),
        (None, Some(t)) => t.alias.clone(),
        (None, None) => return Err(stored_or_not_found(ctx, p).unwrap_err()),
    };
    let is_stored = stored.as_ref().is_some_and(|t| t.alias == alias);
    let rec = AuditRecord::new("auth token revoke");
    let question = format!("Revoke alias token {alias} on {}?", p.url);
    mutate(ctx, &question, &a.confirm, rec, |mode, notes| async move {
        notes.detail("stored_here", Value::Bool(is_stored));
        if !mode.apply() {
            ctx.messages()
                .dry_run(&format!("Would revoke alias token {alias} on {}", p.url));
            return Ok(());
        }
        let revoked = match ctx.client().await {
            Ok(client) => {
                // Building the client may have just renewed the stored token: revoke the one
                // that is stored now, not the one it replaced.
                let now = match (is_stored, store.get(&p.name, &p.url)) {
                    (true, Some(now)) => now.alias,
                    _ => alias.clone(),
                };
                tokens::invalidate(client, &now).await?;
                now
            }
            // A dead token cannot log in to revoke itself; there is nothing left to revoke.
            Err(Error::TokenExpired { .. }) if is_stored => alias.clone(),
            Err(e) => return Err(e),
        };
        if is_stored {
            store.remove(&p.name, &p.url, &OsSecretStore)?;
        }
        ctx.messages()
            .success(&format!("revoked alias token {revoked} on {}", p.url));
        Ok(())
    })
    .await
}

async fn set(a: SetArgs, ctx: &Context) -> Result<()> {
    if !a.secret_stdin {
        return Err(Error::usage(
            "the secret is read from stdin only: pass --secret-stdin and pipe it in",
        ));
    }
    let secret = password_from_stdin()?;
    let file_only = tokens::file_only()?;
    let p = ctx.profile()?;
    // Logging in with it proves it, and the server's list says whose it is and when it expires.
    let mut opts = ctx.client_options()?;
    opts.username = Some(a.alias.clone());
    opts.password = Some(secret.clone());
    opts.session_token = None;
    opts.auto_reauth = false;
    let client = XnatClient::new(opts)?;
    client.authenticate().await.map_err(|e| match e {
        Error::Auth(_) => Error::Auth(format!(
            "{} does not accept this alias and secret (wrong, expired or revoked)",
            p.url
        )),
        other => other,
    })?;
    let who = client.whoami().await?;
    let row = tokens::list(&client, Some(&a.alias))
        .await?
        .into_iter()
        .find(|r| r.stored);
    client.invalidate_session().await;
    let token = StoredToken::new(
        &p.name,
        &p.url,
        &a.alias,
        &who.username,
        row.as_ref()
            .and_then(|r| r.created)
            .unwrap_or_else(Utc::now),
        row.as_ref().and_then(|r| r.expires_at),
        None,
    );
    let store = ctx.token_store();
    let (location, why) = store.save(token, &secret, &OsSecretStore, file_only)?;
    fallback_warning(ctx, location, why.as_deref())?;
    let stored = store
        .get(&p.name, &p.url)
        .ok_or_else(|| Error::Operation("the token was not stored".into()))?;
    ctx.messages().success(&format!(
        "stored the alias token of {} for profile '{}'",
        who.username, p.name
    ));
    ctx.out().item(&TokenInfo::of(
        &stored,
        Utc::now(),
        tokens::margin_override()?,
    ))
}
