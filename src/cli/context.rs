//! Per-invocation state shared by every handler: output, configuration, and a lazily built,
//! authenticated client. Commands that never talk to the server never load credentials.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use tokio_util::sync::CancellationToken;

use super::GlobalArgs;
use crate::core::audit::{self, AuditRecord};
use crate::core::auth::AuthManager;
use crate::core::client::{ClientOptions, XnatClient};
use crate::core::config::{Config, EnvSnapshot, ResolvedProfile};
use crate::core::connect::{connect, SessionSource};
use crate::core::output::{Messages, OutputFormat, OutputOptions, Printer};
use crate::core::tokens::{OsSecretStore, TokenStore};
use crate::core::{Error, Result};

/// Everything a handler needs besides its own arguments.
pub struct Context {
    global: GlobalArgs,
    opts: OutputOptions,
    printer: Mutex<Printer>,
    messages: Messages,
    env: EnvSnapshot,
    config: OnceLock<Result<Config, String>>,
    profile: OnceLock<ResolvedProfile>,
    client: tokio::sync::OnceCell<XnatClient>,
    session_source: OnceLock<SessionSource>,
    cancel: CancellationToken,
    cancel_aware: AtomicBool,
}

impl Context {
    /// Build the context for one invocation from the global options.
    pub fn new(global: &GlobalArgs) -> Self {
        let color = !global.no_color
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("CLICOLOR").map(|v| v != "0").unwrap_or(true);
        let opts = OutputOptions {
            format: global.output.into(),
            quiet: global.quiet,
            no_headers: global.no_headers,
            color: color && std::io::stdout().is_terminal(),
        };
        let messages = Messages::new(color && std::io::stderr().is_terminal(), global.quiet);
        Context {
            global: global.clone(),
            printer: Mutex::new(Printer::stdout(opts.clone())),
            opts,
            messages,
            env: EnvSnapshot::from_process(),
            config: OnceLock::new(),
            profile: OnceLock::new(),
            client: tokio::sync::OnceCell::new(),
            session_source: OnceLock::new(),
            cancel: CancellationToken::new(),
            cancel_aware: AtomicBool::new(false),
        }
    }

    /// A context good enough to report an error before the real one exists.
    pub fn minimal(global: &GlobalArgs) -> Self {
        Self::new(global)
    }

    /// Replace the environment snapshot (tests).
    pub fn with_env(mut self, env: EnvSnapshot) -> Self {
        self.env = env;
        self
    }

    /// The global options as given.
    pub fn global(&self) -> &GlobalArgs {
        &self.global
    }

    /// The resolved output options.
    pub fn output_options(&self) -> &OutputOptions {
        &self.opts
    }

    /// True when the user asked for JSON on stdout.
    pub fn is_json(&self) -> bool {
        self.opts.format == OutputFormat::Json && !self.opts.quiet
    }

    /// The stdout formatter; the only way handlers write data.
    pub fn out(&self) -> MutexGuard<'_, Printer> {
        self.printer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The stderr channel for success lines, warnings and errors.
    pub fn messages(&self) -> &Messages {
        &self.messages
    }

    /// The process environment as captured at start-up.
    pub fn env(&self) -> &EnvSnapshot {
        &self.env
    }

    /// Token cancelled by the first Ctrl-C.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Declare that the running command watches the cancel token and cleans up itself.
    pub fn set_cancel_aware(&self) {
        self.cancel_aware.store(true, Ordering::SeqCst);
    }

    /// Whether the running command declared itself cancel-aware.
    pub fn is_cancel_aware(&self) -> bool {
        self.cancel_aware.load(Ordering::SeqCst)
    }

    /// Path of the config file in use.
    pub fn config_path(&self) -> PathBuf {
        self.global
            .config
            .clone()
            .unwrap_or_else(|| Config::default_path_in(&self.env))
    }

    /// Directory holding the config, the session cache and the audit log.
    pub fn config_dir(&self) -> PathBuf {
        self.config_path()
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// A `--config` naming a file that does not exist is an error: running on with an empty
    /// configuration would create its folder and write the session cache there.
    pub fn require_explicit_config(&self) -> Result<()> {
        match &self.global.config {
            Some(p) if !p.exists() => Err(Error::Config(format!(
                "config file {} does not exist (create it with 'xnatctl config init --config {}')",
                p.display(),
                p.display()
            ))),
            _ => Ok(()),
        }
    }

    /// The configuration file, loaded once.
    pub fn config(&self) -> Result<&Config> {
        let loaded = self.config.get_or_init(|| {
            self.require_explicit_config().map_err(|e| e.to_string())?;
            let cfg = Config::load(&self.config_path()).map_err(|e| {
                // Keep the error for every later call; Error is not Clone.
                e.to_string()
            })?;
            for w in cfg.warnings() {
                self.messages.warn(w);
            }
            Ok(cfg)
        });
        loaded.as_ref().map_err(|msg| Error::Config(msg.clone()))
    }

    /// The active profile with the environment applied.
    pub fn profile(&self) -> Result<&ResolvedProfile> {
        if let Some(p) = self.profile.get() {
            return Ok(p);
        }
        let resolved = self
            .config()?
            .resolve(self.global.profile.as_deref(), &self.env)?;
        Ok(self.profile.get_or_init(|| resolved))
    }

    /// The session cache.
    pub fn auth_manager(&self) -> AuthManager {
        AuthManager::new(self.config_dir())
    }

    /// The alias-token registry next to the config file.
    pub fn token_store(&self) -> TokenStore {
        TokenStore::new(self.config_dir())
    }

    /// Client options for the active profile, without any login.
    pub fn client_options(&self) -> Result<ClientOptions> {
        self.client_options_for(self.profile()?)
    }

    /// Client options for any resolved profile (the destination of a transfer).
    pub fn client_options_for(&self, p: &ResolvedProfile) -> Result<ClientOptions> {
        let mut opts = ClientOptions::new(&p.url);
        opts.username = p.username.clone();
        opts.password = p.password.clone();
        if let Some(t) = &p.alias_token {
            // XNAT takes an alias token wherever it takes a user name and password.
            opts.username = Some(t.alias.clone());
            opts.password = Some(t.secret.clone());
        }
        opts.timeout = std::time::Duration::from_secs(p.timeout);
        opts.request_deadline = opts.request_deadline.min(opts.timeout);
        opts.verify_ssl = p.verify_ssl;
        opts.ca_bundle = p.ca_bundle.clone();
        opts.auto_reauth = true;
        if !p.verify_ssl && p.ca_bundle.is_none() {
            self.messages.warn(&format!(
                "TLS certificate verification is disabled for {}; prefer ca_bundle in the profile",
                p.url
            ));
        }
        Ok(opts)
    }

    /// An unauthenticated-if-need-be client: uses a token or credentials when there are any,
    /// but never logs in (for `health ping`).
    pub async fn anonymous_client(&self) -> Result<XnatClient> {
        let p = self.profile()?;
        let mut opts = self.client_options()?;
        opts.session_token = p.token.clone().or_else(|| {
            self.auth_manager()
                .load(&p.url, p.login_user())
                .map(|s| s.token)
        });
        XnatClient::new(opts)
    }

    /// The authenticated client, built once (the policy is [`connect`]'s).
    pub async fn client(&self) -> Result<&XnatClient> {
        self.client
            .get_or_try_init(|| async {
                let p = self.profile()?;
                let warn = |m: &str| self.messages.warn(m);
                let mut opts = self.client_options()?;
                if let Some(cred) = &p.alias_token {
                    let renewed = crate::services::tokens::renew_if_due(
                        p,
                        cred,
                        &opts,
                        &self.token_store(),
                        &OsSecretStore,
                        &warn,
                    )
                    .await?;
                    if let Some((alias, secret)) = renewed {
                        opts.username = Some(alias);
                        opts.password = Some(secret);
                    }
                }
                let (client, source) = connect(p, opts, &self.auth_manager(), &warn)
                    .await
                    .map_err(|e| crate::services::tokens::explain_rejection(p, e))?;
                let _ = self.session_source.set(source);
                Ok(client)
            })
            .await
    }

    /// Where [`Self::client`]'s session came from; `None` before the client exists.
    pub fn session_source(&self) -> Option<SessionSource> {
        self.session_source.get().copied()
    }

    /// The project to use: the flag, else the profile's default_project.
    pub fn project_or_default(&self, flag: Option<&str>) -> Option<String> {
        flag.map(str::to_string)
            .or_else(|| self.profile().ok().and_then(|p| p.default_project.clone()))
    }

    /// Like [`Self::project_or_default`] but fails with a clear message when neither is set.
    pub fn require_project(&self, flag: Option<&str>) -> Result<String> {
        self.project_or_default(flag).ok_or_else(|| {
            let profile = self
                .profile()
                .map(|p| p.name.clone())
                .unwrap_or_else(|_| "default".into());
            Error::usage(format!(
                "a project is required: pass -P/--project or set default_project in profile '{profile}'"
            ))
        })
    }

    /// Ask before a destructive action. Returns Ok(true) to go on, Ok(false) for a dry run;
    /// a declined prompt is `Error::Cancelled` (exit 7) in every command.
    pub fn confirm(&self, question: &str, yes: bool, dry_run: bool) -> Result<bool> {
        if dry_run {
            self.messages
                .dry_run("preview mode: no changes will be made");
            return Ok(false);
        }
        if yes {
            return Ok(true);
        }
        if !std::io::stdin().is_terminal() {
            return Err(Error::usage(format!(
                "{question} needs confirmation: pass --yes (or --dry-run to preview) when stdin is not a terminal"
            )));
        }
        let mut stderr = std::io::stderr();
        let _ = write!(stderr, "{question} [y/N]: ");
        let _ = stderr.flush();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Error::io("reading the answer", e))?;
        if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            Ok(true)
        } else {
            Err(Error::Cancelled)
        }
    }

    /// Append one record to the audit log; failures only warn.
    pub fn audit(&self, mut record: AuditRecord) {
        if let Ok(p) = self.profile() {
            record.profile.get_or_insert_with(|| p.name.clone());
            record.server.get_or_insert_with(|| p.url.clone());
            if record.user.is_none() {
                record.user = p.username.clone();
            }
        }
        if let Err(e) = audit::write(&self.config_dir(), &record) {
            self.messages
                .warn(&format!("could not write the audit log: {e}"));
        }
    }
}
