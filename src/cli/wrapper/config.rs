//! `xnatctl wrapper config get|set`: a wrapper's configuration, site-wide or for a project.
//!
//! A configuration write enables the wrapper unless the request says `enable=false` (the
//! plugin's `configureForSite`/`configureForProject`), so `set` reads the current enabled state
//! first and sends it: a disabled wrapper stays disabled.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::cli::shared::{mutate, payload, ConfirmArgs};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::{Error, Result};
use crate::services::commands::{self, Scope};

/// The `wrapper config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Show a wrapper's configuration (the project's, with -P)
    Get(GetArgs),
    /// Replace a wrapper's configuration from a JSON file (its enabled state is kept)
    Set(SetArgs),
}

/// Arguments of `wrapper config get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Wrapper id or name (a name used by several commands needs the id)
    #[arg(value_name = "WRAPPER")]
    pub wrapper: String,
    /// The configuration for this project (default: site-wide)
    #[arg(short = 'P', long = "project", value_name = "PROJECT")]
    pub project: Option<String>,
}

/// Arguments of `wrapper config set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Command id
    #[arg(value_name = "COMMAND_ID")]
    pub command: u64,
    /// Wrapper id or name (on that command)
    #[arg(value_name = "WRAPPER")]
    pub wrapper: String,
    /// The configuration (JSON: {"inputs": {...}, "outputs": {...}}), or - for stdin
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// For this project only (default: site-wide)
    #[arg(short = 'P', long = "project", value_name = "PROJECT")]
    pub project: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run a `wrapper config` subcommand.
pub async fn run(cmd: ConfigCommand, ctx: &Context) -> Result<()> {
    match cmd {
        ConfigCommand::Get(a) => get(a, ctx).await,
        ConfigCommand::Set(a) => set(a, ctx).await,
    }
}

async fn get(a: GetArgs, ctx: &Context) -> Result<()> {
    let client = ctx.client().await?;
    let w = commands::resolve(client, &a.wrapper).await?;
    let scope = Scope::of(a.project.as_deref());
    if let Some(p) = scope.project() {
        commands::ensure_project(client, p).await?;
    }
    let config = commands::config(client, &scope, w.id()).await?;
    ctx.out().item(&config)
}

async fn set(a: SetArgs, ctx: &Context) -> Result<()> {
    let payload::Payload {
        object: config,
        source: src,
    } = payload::read_json_object(&a.file, &a.confirm, "configuration")?;
    let scope = Scope::of(a.project.as_deref());
    let mut rec = AuditRecord::new("wrapper config set");
    rec.project = a.project.clone();
    rec.detail("command", Value::from(a.command))
        .detail("wrapper", Value::from(a.wrapper.clone()))
        .detail("file", Value::from(src.clone()));
    let question = "Set this wrapper's configuration?";
    let (cid, wrapper) = (a.command, a.wrapper);
    mutate(ctx, question, &a.confirm, rec, |mode, notes| async move {
        let client = ctx.client().await?;
        let w = commands::wrapper_of(client, cid, &wrapper).await?;
        if let Some(p) = scope.project() {
            commands::ensure_project(client, p).await?;
        }
        let wid = w.id();
        let enabled = commands::is_enabled(client, &scope, wid).await?;
        notes.detail("wrapper_id", Value::from(wid));
        notes.detail("enabled", Value::from(enabled));
        let what = format!("wrapper {wid} on command {cid} ({})", scope.label());
        let state = if enabled { "enabled" } else { "disabled" };
        if !mode.apply() {
            let current = match commands::config(client, &scope, wid).await {
                Ok(c) => c.0,
                Err(Error::NotFound { .. }) => Default::default(),
                Err(e) => return Err(e),
            };
            ctx.messages().dry_run(&format!(
                "Would set the configuration for {what} from {src}; enabled state ({state}) will be preserved:"
            ));
            let diff = payload::json_diff(&format!("wrapper {wid} config"), &current, &config);
            return ctx.out().raw(&diff);
        }
        commands::set_config(client, &scope, wid, &config, enabled).await?;
        ctx.messages()
            .success(&format!("Set configuration for {what} (still {state})"));
        Ok(())
    })
    .await
}
