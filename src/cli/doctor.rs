//! `xnatctl doctor`: one line per check, in order (URL, TLS, proxy, credentials, project access,
//! server version, clock), each with its fix; exit 0 when nothing failed, 1 otherwise.

use chrono::Utc;
use clap::Args;

use super::Context;
use crate::core::client::seg;
use crate::core::output::ListControls;
use crate::core::tokens::TokenState;
use crate::core::{Error, Result};
use crate::services::doctor::{self, Check, Status};
use crate::services::tokens;

/// Arguments of `doctor` (none besides the global options).
#[derive(Debug, Args)]
pub struct DoctorArgs {}

/// Run `doctor`.
pub async fn run(_a: DoctorArgs, ctx: &Context) -> Result<()> {
    let p = ctx.profile()?;
    let (mut checks, reach) = doctor::url_and_tls(p).await?;
    checks.push(doctor::proxy(&p.url, &|n| std::env::var(n).ok()));
    let who = credentials(ctx, reach.reachable).await;
    let logged_in = who.status == Status::Ok;
    checks.push(who);
    checks.push(project(ctx, logged_in).await);
    checks.push(doctor::version(&reach));
    checks.push(doctor::clock(&reach, Utc::now()));
    ctx.out().rows(&checks, &ListControls::default())?;
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed > 0 {
        return Err(Error::Operation(format!(
            "doctor found {failed} problem(s) with profile '{}'",
            p.name
        )));
    }
    Ok(())
}

/// Which credential the profile uses, in words (never a secret).
fn source(ctx: &Context) -> Option<String> {
    let p = ctx.profile().ok()?;
    if let Some(t) = &p.alias_token {
        return Some(match &t.stored {
            None => "the alias token in XNAT_ALIAS/XNAT_SECRET".to_string(),
            Some(s) => {
                let state = match s.state(Utc::now(), tokens::margin_override().ok().flatten()) {
                    TokenState::Fresh => "valid",
                    TokenState::DueForRenewal => "due for renewal",
                    TokenState::Expired => "expired",
                };
                let until = s
                    .expires_at
                    .map(|t| format!(" until {}", t.format("%Y-%m-%d")))
                    .unwrap_or_default();
                format!("the stored alias token ({state}{until})")
            }
        });
    }
    if p.token.is_some() {
        return Some("the session in XNAT_TOKEN".into());
    }
    if ctx.auth_manager().load(&p.url, p.login_user()).is_some() {
        return Some("a cached session".into());
    }
    match (&p.username, &p.password) {
        (Some(_), Some(_)) if ctx.env().xnat_pass.is_some() => {
            Some("the password in XNAT_PASS".into())
        }
        (Some(_), Some(_)) => Some("the profile's password".into()),
        _ => None,
    }
}

async fn credentials(ctx: &Context, reachable: bool) -> Check {
    let Some(how) = source(ctx) else {
        let p = ctx.profile().ok();
        let hint = p
            .and_then(|p| p.credentials_hint())
            .unwrap_or_else(|| "run 'xnatctl auth login', 'xnatctl auth token issue', or set XNAT_USER/XNAT_PASS or XNAT_ALIAS/XNAT_SECRET".into());
        return Check::new(
            "credentials",
            Status::Fail,
            "no credentials for this profile",
        )
        .fix(hint);
    };
    if !reachable {
        return Check::new(
            "credentials",
            Status::Skip,
            format!("{how}: server unreachable"),
        );
    }
    let client = match ctx.client().await {
        Ok(c) => c,
        Err(e) => {
            let fix = e.hint().unwrap_or_else(|| "check the credentials".into());
            return Check::new("credentials", Status::Fail, format!("{how}: {e}")).fix(fix);
        }
    };
    match client.whoami().await {
        Ok(w) if w.username.eq_ignore_ascii_case("guest") => Check::new(
            "credentials",
            Status::Fail,
            format!("{how}: the server treats you as the guest user (open access), not as a login"),
        )
        .fix("the credentials were not accepted as a user: run 'xnatctl auth login' or 'xnatctl auth token issue'"),
        Ok(w) => Check::new(
            "credentials",
            Status::Ok,
            format!("logged in as {} with {how}", w.username),
        ),
        Err(e) => {
            let fix = e.hint().unwrap_or_else(|| "check the credentials".into());
            Check::new("credentials", Status::Fail, format!("{how}: {e}")).fix(fix)
        }
    }
}

async fn project(ctx: &Context, logged_in: bool) -> Check {
    let Some(id) = ctx.profile().ok().and_then(|p| p.default_project.clone()) else {
        return Check::new("project", Status::Skip, "no default_project in the profile");
    };
    if !logged_in {
        return Check::new("project", Status::Skip, format!("{id}: not logged in"));
    }
    let Ok(client) = ctx.client().await else {
        return Check::new("project", Status::Skip, format!("{id}: not logged in"));
    };
    let path = match seg(&id) {
        Ok(s) => format!("/data/projects/{s}"),
        Err(e) => return Check::new("project", Status::Fail, format!("{id}: {e}")),
    };
    match client.get_json(&path, &[]).await {
        Ok(_) => Check::new(
            "project",
            Status::Ok,
            format!("can read the default project {id}"),
        ),
        Err(Error::PermissionDenied(_)) => Check::new(
            "project",
            Status::Fail,
            format!("no access to the default project {id}"),
        )
        .fix("ask a project owner for access, or change default_project"),
        Err(Error::NotFound { .. }) => Check::new(
            "project",
            Status::Fail,
            format!("the default project {id} does not exist, or is hidden from you"),
        )
        .fix("check the id with 'xnatctl project list', then fix default_project"),
        Err(e) => Check::new("project", Status::Fail, format!("{id}: {e}")),
    }
}
