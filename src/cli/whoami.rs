//! `xnatctl whoami`: who the server says the current credentials belong to.

use clap::Args;
use serde_json::json;

use super::Context;
use crate::core::output::Record;
use crate::core::Result;

/// Arguments of `whoami` (none besides the global options).
#[derive(Debug, Args)]
pub struct WhoamiArgs {}

/// Run `whoami`.
pub async fn run(_a: WhoamiArgs, ctx: &Context) -> Result<()> {
    let p = ctx.profile()?;
    let client = ctx.client().await?;
    let who = client.whoami().await?;
    let mut rec = Record::new();
    rec.id_field = Some("username".into());
    rec.insert("username", json!(who.username));
    rec.insert("server", json!(p.url));
    rec.insert("profile", json!(p.name));
    rec.insert(
        "default_project",
        json!(p.default_project.clone().unwrap_or_else(|| "-".into())),
    );
    let mode = ctx.session_source().map_or("session", |s| s.auth_mode());
    rec.insert("auth_mode", json!(mode));
    ctx.out().record(&rec)
}
