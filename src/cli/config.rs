//! `xnatctl config …`: create, list, switch and remove profiles, and store a password in the
//! OS keyring. Nothing here ever prints a secret.

use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::Context;
use crate::cli::shared::{mutate, password_from_stdin, prompt_line, prompt_password, ConfirmArgs};
use crate::core::audit::AuditRecord;
use crate::core::config::{self, Config, Profile};
use crate::core::output::{Record, Report, Row};
use crate::core::validation::{validate_project_id, validate_server_url, validate_timeout};
use crate::core::{Error, Result};

/// The `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Create or replace a profile (the name comes from -p/--profile, default "default")
    Init(InitArgs),
    /// Add a new profile
    AddProfile(AddProfileArgs),
    /// Remove a profile
    RemoveProfile(RemoveProfileArgs),
    /// Make a profile the default
    UseContext(UseContextArgs),
    /// Print the default profile's name
    CurrentContext,
    /// Show the configuration (never shows passwords)
    Show,
    /// Store a profile's password in the OS keyring
    SetPassword(SetPasswordArgs),
}

/// Arguments of `config init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Server URL, e.g. https://xnat.example.org (prompted for when missing)
    #[arg(long)]
    pub url: Option<String>,
    /// Default project for commands that need one
    #[arg(long = "project", short = 'P')]
    pub project: Option<String>,
    /// Username to log in with
    #[arg(long, short = 'u')]
    pub username: Option<String>,
    /// Replace the profile if it exists (other profiles are kept)
    #[arg(long)]
    pub force: bool,
    /// Log in right away after saving
    #[arg(long, conflicts_with = "no_login")]
    pub login: bool,
    /// Do not offer to log in
    #[arg(long)]
    pub no_login: bool,
    /// Read the password for the login from stdin
    #[arg(long)]
    pub password_stdin: bool,
}

/// Arguments of `config add-profile`.
#[derive(Debug, Args)]
pub struct AddProfileArgs {
    /// Profile name
    pub name: String,
    /// Server URL
    #[arg(long)]
    pub url: String,
    /// Default project
    #[arg(long = "project", short = 'P')]
    pub project: Option<String>,
    /// Username
    #[arg(long, short = 'u')]
    pub username: Option<String>,
    /// Read/write timeout in seconds
    #[arg(long, default_value_t = 21600)]
    pub timeout: u64,
    /// Do not verify the server's TLS certificate (discouraged; prefer --ca-bundle)
    #[arg(long)]
    pub no_verify_ssl: bool,
    /// PEM file with the CA certificates to trust for this server
    #[arg(long)]
    pub ca_bundle: Option<std::path::PathBuf>,
}

/// Arguments of `config remove-profile`.
#[derive(Debug, Args)]
pub struct RemoveProfileArgs {
    /// Profile name
    pub name: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Arguments of `config use-context`.
#[derive(Debug, Args)]
pub struct UseContextArgs {
    /// Profile name
    pub name: String,
}

/// Arguments of `config set-password`.
#[derive(Debug, Args)]
pub struct SetPasswordArgs {
    /// Profile name
    pub name: String,
    /// Read the password from stdin instead of prompting
    #[arg(long)]
    pub password_stdin: bool,
}

/// Run a `config` subcommand.
pub async fn run(cmd: ConfigCommand, ctx: &Context) -> Result<()> {
    match cmd {
        ConfigCommand::Init(a) => init(a, ctx).await,
        ConfigCommand::AddProfile(a) => add_profile(a, ctx),
        ConfigCommand::RemoveProfile(a) => remove_profile(a, ctx).await,
        ConfigCommand::UseContext(a) => use_context(a, ctx),
        ConfigCommand::CurrentContext => current_context(ctx),
        ConfigCommand::Show => show(ctx),
        ConfigCommand::SetPassword(a) => set_password(a, ctx),
    }
}

fn load(ctx: &Context) -> Result<Config> {
    ctx.require_explicit_config()?;
    Config::load(&ctx.config_path())
}

/// Load the config for a change, holding its lock until the returned guard drops (after
/// `save`), so concurrent changes take turns instead of the last writer dropping the others'.
fn load_for_update(ctx: &Context) -> Result<(crate::core::fsutil::FileLock, Config)> {
    ctx.require_explicit_config()?;
    let lock = crate::core::fsutil::lock_exclusive(&ctx.config_path())?;
    Ok((lock, Config::load(&ctx.config_path())?))
}

/// The file's profiles; with none but `XNAT_URL` set (the CI case), the one profile the
/// environment makes, as every other command sees it.
fn require_profiles(cfg: &mut Config, ctx: &Context) -> Result<()> {
    if !cfg.profiles.is_empty() {
        return Ok(());
    }
    let no_config = || Error::NoConfig {
        path: ctx.config_path(),
    };
    let p = ctx.profile().map_err(|_| no_config())?;
    if !p.url_from_env {
        return Err(no_config());
    }
    let mut profile = Profile::new(&p.url);
    profile.username = p.username.clone();
    profile.default_project = p.default_project.clone();
    profile.verify_ssl = p.verify_ssl;
    profile.timeout = p.timeout;
    cfg.add_profile(&p.name, profile);
    cfg.set_default_profile(&p.name)
}

fn unknown_profile(cfg: &Config, name: &str) -> Error {
    let names: Vec<&str> = cfg.profiles.keys().map(String::as_str).collect();
    Error::ProfileNotFound(format!("{name} (available: {})", names.join(", ")))
}

async fn init(a: InitArgs, ctx: &Context) -> Result<()> {
    let name = ctx
        .global()
        .profile
        .clone()
        .unwrap_or_else(|| "default".into());
    let url = match a.url {
        Some(u) => u,
        None => prompt_line("XNAT server URL: ")?,
    };
    let url = validate_server_url(&url)?;
    let project = a.project.as_deref().map(validate_project_id).transpose()?;
    let _lock = crate::core::fsutil::lock_exclusive(&ctx.config_path())?;
    let mut cfg = Config::load(&ctx.config_path())?;
    if cfg.has_profile(&name) && !a.force {
        return Err(Error::Config(format!(
            "profile '{name}' already exists; use --force to replace it"
        )));
    }
    let mut profile = Profile::new(&url);
    profile.default_project = project.clone();
    profile.username = a.username.clone();
    // --force replaces this profile only; the others stay (the reference wiped them all).
    cfg.add_profile(&name, profile);
    if cfg.profiles.len() == 1 || cfg.default_profile.is_empty() {
        cfg.set_default_profile(&name)?;
    }
    cfg.save()?;
    ctx.messages()
        .success(&format!("configuration saved to {}", cfg.path().display()));
    let mut rec = Record::new();
    rec.insert("profile", json!(name));
    rec.insert("url", json!(url));
    rec.insert("default_project", json!(project));
    ctx.out().record(&rec)?;

    let login = a.login
        || (!a.no_login
            && std::io::IsTerminal::is_terminal(&std::io::stdin())
            && prompt_line("Log in now? [Y/n]: ")
                .map(|s| {
                    s.is_empty() || s.eq_ignore_ascii_case("y") || s.eq_ignore_ascii_case("yes")
                })
                .unwrap_or(false));
    if !login {
        ctx.messages()
            .info("run 'xnatctl auth login' when you are ready");
        return Ok(());
    }
    let login_args = super::auth::LoginArgs {
        username: a.username,
        password_stdin: a.password_stdin,
        password: None,
    };
    if let Err(e) = super::auth::login_profile(login_args, ctx, &name, &cfg).await {
        ctx.messages().error(&e);
        ctx.messages()
            .info("the profile was saved; retry with 'xnatctl auth login'");
    }
    Ok(())
}

fn add_profile(a: AddProfileArgs, ctx: &Context) -> Result<()> {
    let url = validate_server_url(&a.url)?;
    let timeout = validate_timeout(Some(&a.timeout.to_string()))?;
    let project = a.project.as_deref().map(validate_project_id).transpose()?;
    if let Some(ca) = &a.ca_bundle {
        if !ca.is_file() {
            return Err(Error::InvalidPath {
                value: ca.display().to_string(),
                reason: "CA bundle file does not exist".into(),
            });
        }
    }
    let (_lock, mut cfg) = load_for_update(ctx)?;
    if cfg.has_profile(&a.name) {
        return Err(Error::Config(format!(
            "profile '{}' already exists",
            a.name
        )));
    }
    let mut profile = Profile::new(&url);
    profile.default_project = project;
    profile.timeout = timeout;
    profile.verify_ssl = !a.no_verify_ssl;
    profile.ca_bundle = a.ca_bundle.map(|p| p.display().to_string());
    profile.username = a.username;
    cfg.add_profile(&a.name, profile);
    if cfg.profiles.len() == 1 {
        cfg.set_default_profile(&a.name)?;
    }
    cfg.save()?;
    ctx.messages()
        .success(&format!("profile '{}' added", a.name));
    Ok(())
}

async fn remove_profile(a: RemoveProfileArgs, ctx: &Context) -> Result<()> {
    let (_lock, mut cfg) = load_for_update(ctx)?;
    if !cfg.has_profile(&a.name) {
        return Err(unknown_profile(&cfg, &a.name));
    }
    if cfg.default_profile == a.name {
        return Err(Error::Config(
            "cannot remove the default profile; switch to another one first with 'config use-context'"
                .into(),
        ));
    }
    let mut rec = AuditRecord::new("config remove-profile");
    rec.detail("name", json!(a.name));
    let question = format!("Remove profile '{}'?", a.name);
    mutate(ctx, &question, &a.confirm, rec, |mode, _| async move {
        if !mode.apply() {
            ctx.messages()
                .dry_run(&format!("would remove profile '{}'", a.name));
            return Ok(());
        }
        cfg.remove_profile(&a.name)?;
        cfg.save()?;
        ctx.messages()
            .success(&format!("profile '{}' removed", a.name));
        Ok(())
    })
    .await
}

fn use_context(a: UseContextArgs, ctx: &Context) -> Result<()> {
    let (_lock, mut cfg) = load_for_update(ctx)?;
    if !cfg.has_profile(&a.name) {
        return Err(unknown_profile(&cfg, &a.name));
    }
    cfg.set_default_profile(&a.name)?;
    cfg.save()?;
    ctx.messages()
        .success(&format!("switched to profile '{}'", a.name));
    Ok(())
}

fn current_context(ctx: &Context) -> Result<()> {
    let mut cfg = load(ctx)?;
    require_profiles(&mut cfg, ctx)?;
    ctx.out().line(&cfg.default_profile)
}

fn show(ctx: &Context) -> Result<()> {
    let mut cfg = load(ctx)?;
    require_profiles(&mut cfg, ctx)?;
    let only = ctx.global().profile.clone();
    if let Some(name) = &only {
        if !cfg.has_profile(name) {
            return Err(unknown_profile(&cfg, name));
        }
    }
    let selected: Vec<(&String, &Profile)> = cfg
        .profiles
        .iter()
        .filter(|(n, _)| only.as_ref().is_none_or(|o| o == *n))
        .collect();

    let mut details = Map::new();
    let mut rows = Vec::new();
    for (name, p) in &selected {
        details.insert((*name).clone(), config::profile_public_json(p));
        rows.push(ProfileRow {
            profile: (*name).clone(),
            default: cfg.default_profile == **name,
            url: p.url.clone(),
            verify_ssl: p.verify_ssl,
            timeout: p.timeout,
            default_project: p.default_project.clone(),
            username: p.username.clone(),
            password: config::password_location(p),
        });
    }
    let report = ConfigReport {
        config_file: cfg.path().display().to_string(),
        default_profile: cfg.default_profile.clone(),
        output_format: cfg.output_format.clone(),
        profiles: selected.iter().map(|(n, _)| (*n).clone()).collect(),
        profile_details: details,
        rows,
    };
    ctx.out().report(&report)
}

/// `config show`: the file's settings as one JSON document, one row per profile in a table.
#[derive(Debug, Serialize)]
struct ConfigReport {
    config_file: String,
    default_profile: String,
    output_format: String,
    profiles: Vec<String>,
    profile_details: Map<String, Value>,
    #[serde(skip)]
    rows: Vec<ProfileRow>,
}

/// One profile, as `config show` tabulates it (never its password, only where it lives).
#[derive(Debug, Clone, Serialize)]
struct ProfileRow {
    profile: String,
    default: bool,
    url: String,
    verify_ssl: bool,
    timeout: u64,
    default_project: Option<String>,
    username: Option<String>,
    password: &'static str,
}

impl Row for ProfileRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("profile", "Profile"),
        ("default", "Default"),
        ("url", "URL"),
        ("verify_ssl", "Verify TLS"),
        ("timeout", "Timeout (s)"),
        ("default_project", "Default Project"),
        ("username", "Username"),
        ("password", "Password"),
    ];
    const ID: &'static str = "profile";
}

impl Report for ConfigReport {
    type Row = ProfileRow;
    fn rows(&self) -> Vec<ProfileRow> {
        self.rows.clone()
    }
    fn title(&self) -> Option<String> {
        Some(format!("Profiles in {}", self.config_file))
    }
}

fn set_password(a: SetPasswordArgs, ctx: &Context) -> Result<()> {
    let (_lock, mut cfg) = load_for_update(ctx)?;
    let url = match cfg.get_profile(&a.name) {
        Some(p) => p.url.clone(),
        None => return Err(unknown_profile(&cfg, &a.name)),
    };
    let password = if a.password_stdin {
        password_from_stdin()?
    } else {
        let first = prompt_password("Password: ")?;
        let again = prompt_password("Repeat password: ")?;
        if first != again {
            return Err(Error::InvalidInput("the passwords do not match".into()));
        }
        if first.is_empty() {
            return Err(Error::InvalidInput("the password is empty".into()));
        }
        first
    };
    config::keyring_set_password(&a.name, &url, &password)?;
    if let Some(p) = cfg.profiles.get_mut(&a.name) {
        p.password = None;
        p.password_source = Some("keyring".into());
    }
    cfg.save()?;
    ctx.messages().success(&format!(
        "password for profile '{}' stored in the OS keyring",
        a.name
    ));
    Ok(())
}
