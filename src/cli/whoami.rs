//! `xnatctl whoami`: who the server says the current credentials belong to.

use clap::Args;
use serde_json::json;

use super::config::out_err;
use super::Context;
use crate::core::output::Record;
use crate::core::{Error, Result};

/// Arguments of `whoami` (none besides the global options).
#[derive(Debug, Args)]
pub struct WhoamiArgs {}

/// Run `whoami`.
pub async fn run(_a: WhoamiArgs, ctx: &Context) -> Result<()> {
    let p = ctx.profile()?;
    let auth_mode = if p.token.is_some() {
        "token"
    } else if ctx
        .auth_manager()
        .load(&p.url, p.username.as_deref())
        .is_some()
    {
        "session"
    } else if p.username.is_some() && p.password.is_some() {
        "password"
    } else {
        return Err(Error::Auth(super::context::not_logged_in(p)));
    };
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
    rec.insert("auth_mode", json!(auth_mode));
    ctx.out().record(&rec).map_err(out_err)
}
