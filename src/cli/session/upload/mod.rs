//! `session upload INPUT`: an archive file, a directory of DICOM (parallel tar/zip batches), or
//! file by file (`--mode gradual`) through XNAT's import service. The checks, the plan and the
//! run are `services::upload::session`; this file turns flags and profile into a request.
//!
//! [`args`] holds the flags and [`settings`] the flag → profile → default resolution.

mod args;
mod settings;

pub use args::{Mode, OverwriteArg, UploadArgs};
pub(super) use settings::resolve_common;

use std::sync::Arc;

use crate::cli::Context;
use crate::core::progress::{NoProgress, Progress};
use crate::core::{Error, Result};
use crate::services::upload::{self, ImportSettings, Overwrite, SessionUpload};
use settings::{parse_profile_mode, parse_profile_overwrite};

/// Run `session upload`.
pub async fn run(a: UploadArgs, ctx: &Context) -> Result<()> {
    crate::cli::shared::refuse_password(&a.password)?;
    if !a.input.exists() {
        return Err(Error::usage(format!(
            "INPUT_PATH {} does not exist",
            a.input.display()
        )));
    }
    let req = request(&a, ctx)?;
    let prepared = upload::session::prepare(&req)?;
    for p in prepared.problems() {
        ctx.messages().warn(&p);
    }
    prepared.refuse_unless(a.yes || a.dry_run, &a.input)?;
    if a.dry_run {
        ctx.messages()
            .dry_run("would upload with these settings; nothing was sent");
        return ctx.out().item(&upload::session::preview(&req, &prepared));
    }
    ctx.set_cancel_aware();
    let client = ctx.client().await?;
    let progress: Arc<dyn Progress> = match prepared.batched_bytes() {
        Some(total) => Arc::from(crate::cli::progress::for_transfer(ctx, total)),
        None => Arc::new(NoProgress),
    };
    let outcome =
        upload::session::run(client, &req, prepared, progress, ctx.cancel_token()).await?;
    ctx.out().report(&outcome.summary)?;
    for w in &outcome.warnings {
        ctx.messages().warn(w);
    }
    ctx.messages().success(&outcome.result?);
    Ok(())
}

/// The request from flags, then the profile, then defaults.
fn request(a: &UploadArgs, ctx: &Context) -> Result<SessionUpload> {
    let (target, routing, workers) = resolve_common(
        ctx,
        &a.project,
        &a.subject,
        &a.session,
        &a.workers,
        a.direct_archive,
        a.prearchive,
    )?;
    let profile = ctx.profile().ok();
    let mode = match a.mode {
        Some(m) => m,
        None => parse_profile_mode(profile.and_then(|p| p.archive_mode.as_deref()))?,
    };
    let overwrite = match a.overwrite {
        Some(OverwriteArg::None) => Overwrite::None,
        Some(OverwriteArg::Append) => Overwrite::Append,
        Some(OverwriteArg::Delete) => Overwrite::Delete,
        None => parse_profile_overwrite(profile.and_then(|p| p.overwrite.as_deref()))?,
    };
    Ok(SessionUpload {
        input: a.input.clone(),
        settings: ImportSettings {
            target,
            overwrite,
            routing,
            ignore_unparsable: !a.no_ignore_unparsable,
        },
        sending: mode.into(),
        workers,
        check: !a.no_check,
    })
}
