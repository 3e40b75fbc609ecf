//! `xnatctl auth …`: log in (caching the session per server and user), log out, show what is
//! cached, and test that the credentials work; `auth token` manages alias tokens.

mod token;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::cli::shared::{password_from_stdin, password_or_prompt, prompt_line};
use crate::cli::Context;
use crate::core::client::{ClientOptions, XnatClient};
use crate::core::config::Config;
use crate::core::output::Record;
use crate::core::{Error, Result};

/// The `auth` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Log in and cache the session for this server and user
    Login(LoginArgs),
    /// End the cached session on the server and forget it
    Logout,
    /// Show the credentials in effect and the cached session (no network)
    Status,
    /// Check that the credentials or the cached session work
    Test,
    /// Alias tokens: credentials for scripts, CI and single-sign-on sites
    #[command(subcommand)]
    Token(token::TokenCommand),
}

/// Arguments of `auth login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Username (else XNAT_USER, the profile's username, or a prompt)
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// Read the password from the first line of stdin
    #[arg(long)]
    pub password_stdin: bool,
    /// Refused: passwords on the command line leak into the process list
    #[arg(long, hide = true, value_name = "PASSWORD")]
    pub password: Option<String>,
}

/// Run an `auth` subcommand.
pub async fn run(cmd: AuthCommand, ctx: &Context) -> Result<()> {
    match cmd {
        AuthCommand::Login(a) => {
            let cfg = ctx.config()?;
            let name = ctx.profile()?.name.clone();
            login_profile(a, ctx, &name, cfg).await
        }
        AuthCommand::Logout => logout(ctx).await,
        AuthCommand::Status => status(ctx),
        AuthCommand::Test => test(ctx).await,
        AuthCommand::Token(c) => token::run(c, ctx).await,
    }
}

/// Log in to the named profile of `cfg` and cache the session.
pub async fn login_profile(a: LoginArgs, ctx: &Context, name: &str, cfg: &Config) -> Result<()> {
    crate::cli::shared::refuse_password(&a.password)?;
    let p = cfg.resolve(Some(name), ctx.env())?;
    let username = match a.username.or_else(|| p.username.clone()) {
        Some(u) => u,
        None => prompt_line("Username: ")?,
    };
    if username.is_empty() {
        return Err(Error::usage("a username is required"));
    }
    let piped = a.password_stdin.then(password_from_stdin).transpose()?;
    let password = password_or_prompt(piped, p.password.clone(), "Password: ")?;
    ctx.messages()
        .info(&format!("authenticating with {}...", p.url));
    let mut opts = ClientOptions::new(&p.url);
    opts.username = Some(username.clone());
    opts.password = Some(password);
    opts.timeout = std::time::Duration::from_secs(p.timeout);
    opts.verify_ssl = p.verify_ssl;
    opts.ca_bundle = p.ca_bundle.clone();
    let client = XnatClient::new(opts)?;
    let token = client.authenticate().await?;
    let who = client.whoami().await.ok();
    let server_user = who
        .as_ref()
        .map(|w| w.username.clone())
        .unwrap_or_else(|| username.clone());
    let cache = ctx.auth_manager();
    let session = cache.save(&p.url, Some(&username), &token)?;
    if !server_user.eq_ignore_ascii_case(&username) {
        ctx.messages().warn(&format!(
            "the server reports you as '{server_user}', not '{username}'"
        ));
    }
    let expires = session
        .expires_at
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let doc = json!({
        "status": "authenticated",
        "username": server_user,
        "requested_username": username,
        "url": p.url,
        "profile": p.name,
        "expires_at": expires,
    });
    if !ctx.is_json() {
        ctx.messages()
            .success(&format!("logged in to {} as {server_user}", p.url));
        ctx.messages()
            .info("session cached; it expires after 15 minutes without use");
    }
    ctx.out().either(&doc, None)
}

async fn logout(ctx: &Context) -> Result<()> {
    let p = ctx.profile()?;
    let cache = ctx.auth_manager();
    match cache.load(&p.url, p.login_user()) {
        Some(session) => {
            let mut opts = ctx.client_options()?;
            opts.session_token = Some(session.token.clone());
            opts.auto_reauth = false;
            if let Ok(client) = XnatClient::new(opts) {
                client.invalidate_session().await;
            }
            cache.remove(&p.url, session.username.as_deref())?;
            ctx.messages().success(&format!("logged out of {}", p.url));
        }
        None => ctx
            .messages()
            .warn(&format!("no cached session found for {}", p.url)),
    }
    Ok(())
}

fn status(ctx: &Context) -> Result<()> {
    let p = ctx.profile()?;
    let env = ctx.env();
    let set = |b: bool| if b { "(set)" } else { "(not set)" };
    let mut rec = Record::new();
    rec.title = Some(format!("Auth status: {}", p.name));
    rec.id_field = Some("profile".into());
    rec.insert("profile", json!(p.name));
    rec.insert("url", json!(p.url));
    rec.insert("username", json!(p.username));
    rec.insert(
        "env_username",
        json!(env.xnat_user.clone().unwrap_or_else(|| "(not set)".into())),
    );
    rec.insert("env_password", json!(set(env.xnat_pass.is_some())));
    rec.insert("env_token", json!(set(env.xnat_token.is_some())));
    rec.insert(
        "alias_token",
        json!(match &p.alias_token {
            None => "(none)",
            Some(t) if t.stored.is_none() => "XNAT_ALIAS",
            Some(_) => "stored",
        }),
    );
    let cached = ctx.auth_manager().load(&p.url, p.login_user());
    rec.insert("session_cached", json!(cached.is_some()));
    if let Some(s) = cached {
        rec.insert("session_username", json!(s.username));
        rec.insert("session_created", json!(s.created_at));
        rec.insert("session_expires", json!(s.expires_at));
    }
    ctx.out().record(&rec)
}

async fn test(ctx: &Context) -> Result<()> {
    let p = ctx.profile()?;
    if p.token.is_none()
        && p.alias_token.is_none()
        && ctx.auth_manager().load(&p.url, p.login_user()).is_none()
        && (p.username.is_none() || p.password.is_none())
    {
        return Err(Error::Auth(format!(
            "no credentials found for profile '{}'",
            p.name
        )));
    }
    let client = ctx.client().await?;
    let who = client.whoami().await?;
    let doc = json!({
        "status": "authenticated",
        "url": p.url,
        "username": who.username,
        "firstname": who.first_name,
        "lastname": who.last_name,
        "email": who.email,
        "enabled": who.enabled,
    });
    if !ctx.is_json() {
        ctx.messages().success("authentication successful");
    }
    let mut rec = Record::new();
    rec.id_field = Some("user".into());
    rec.insert("user", json!(who.username));
    let name = format!(
        "{} {}",
        who.first_name.clone().unwrap_or_default(),
        who.last_name.clone().unwrap_or_default()
    );
    if !name.trim().is_empty() {
        rec.insert("name", json!(name.trim()));
    }
    if let Some(email) = &who.email {
        rec.insert("email", json!(email));
    }
    ctx.out().either(&doc, Some(&rec))
}
