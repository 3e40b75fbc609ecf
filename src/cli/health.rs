//! `xnatctl health ping`: is the server there, and which XNAT version is it?

use clap::Subcommand;
use serde_json::json;

use super::Context;
use crate::core::output::Record;
use crate::core::Result;

/// The `health` subcommands.
#[derive(Debug, Subcommand)]
pub enum HealthCommand {
    /// Check that the server answers and report its version and latency
    Ping,
}

/// Run a `health` subcommand.
pub async fn run(cmd: HealthCommand, ctx: &Context) -> Result<()> {
    match cmd {
        HealthCommand::Ping => ping(ctx).await,
    }
}

async fn ping(ctx: &Context) -> Result<()> {
    let p = ctx.profile()?;
    let client = ctx.anonymous_client().await?;
    let info = client.ping().await?;
    let authenticated = client.token().is_some() || (p.username.is_some() && p.password.is_some());
    if !ctx.is_json() && !ctx.output_options().quiet {
        ctx.messages()
            .success(&format!("server reachable: {}", info.url));
    }
    let mut rec = Record::new();
    rec.id_field = Some("url".into());
    rec.insert("url", json!(info.url));
    rec.insert("status", json!("ok"));
    rec.insert("version", json!(info.version));
    rec.insert("latency_ms", json!(info.latency_ms));
    rec.insert("authenticated", json!(authenticated));
    ctx.out().record(&rec)
}
