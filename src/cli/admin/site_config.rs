//! `xnatctl admin site-config get [KEY]` / `set KEY VALUE`: read and change site preferences.

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::cli::shared::{mutate, ConfirmArgs};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::site;

/// Arguments of `admin site-config`.
#[derive(Debug, Args)]
pub struct SiteConfigArgs {
    #[command(subcommand)]
    pub command: SiteConfigCommand,
}

/// The `admin site-config` subcommands.
#[derive(Debug, Subcommand)]
pub enum SiteConfigCommand {
    /// Print one site preference (KEY) or the whole site configuration
    Get(GetArgs),
    /// Change one site preference (admins only)
    Set(SetArgs),
}

/// Arguments of `admin site-config get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Preference name (e.g. siteId); without it the whole configuration is printed
    pub key: Option<String>,
}

/// Arguments of `admin site-config set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Preference name
    pub key: String,
    /// New value, sent as text (XNAT converts it to the preference's type)
    pub value: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `admin site-config`.
pub async fn run(a: SiteConfigArgs, ctx: &Context) -> Result<()> {
    match a.command {
        SiteConfigCommand::Get(g) => get(g, ctx).await,
        SiteConfigCommand::Set(s) => set(s, ctx).await,
    }
}

async fn get(a: GetArgs, ctx: &Context) -> Result<()> {
    let client = ctx.client().await?;
    match a.key {
        None => {
            ctx.messages()
                .warn("Dumping the entire site configuration; pass a KEY for a single value.");
            let all = site::site_config(client).await?;
            ctx.out().item(&all)
        }
        // A single value prints as JSON in every format (`"XNAT"`), `-q` prints it bare.
        Some(key) => {
            let value = site::site_config_value(client, &key).await?;
            ctx.out().json(&value)
        }
    }
}

async fn set(a: SetArgs, ctx: &Context) -> Result<()> {
    let secret = site::is_secret_key(&a.key);
    let shown = |v: &str| {
        if secret {
            "***".to_string()
        } else {
            v.to_string()
        }
    };
    let mut rec = AuditRecord::new("admin site-config set");
    rec.detail("key", Value::from(a.key.clone()));
    rec.detail("value", Value::from(shown(&a.value)));
    let (key, value) = (a.key, a.value);
    mutate(
        ctx,
        "Update this site configuration value?",
        &a.confirm,
        rec,
        |mode, _| async move {
            let client = ctx.client().await?;
            if !mode.apply() {
                let current = match site::site_config_value(client, &key).await {
                    Ok(v) => shown(&site::display_value(&v)),
                    Err(_) => "<unknown>".to_string(),
                };
                ctx.messages()
                    .dry_run(&format!("{key}: {current} -> {}", shown(&value)));
                return Ok(());
            }
            site::set_site_config(client, &key, &value).await?;
            ctx.messages()
                .success(&format!("Set {key} = {}", shown(&value)));
            Ok(())
        },
    )
    .await
}
