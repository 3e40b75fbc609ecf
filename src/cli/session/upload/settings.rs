//! Import settings from flags, then the profile, then defaults.

use crate::cli::shared::{ProjectArg, WorkersArg};
use crate::cli::Context;
use crate::core::{Error, Result};
use crate::services::upload::{Overwrite, Routing, Target};

use super::Mode;

/// Project, routing and workers from flags, then the profile, then defaults.
pub(in crate::cli::session) fn resolve_common(
    ctx: &Context,
    project: &ProjectArg,
    subject: &str,
    session: &str,
    workers: &WorkersArg,
    direct: bool,
    prearchive: bool,
) -> Result<(Target, Routing, usize)> {
    let project = project.require(ctx)?;
    let target = Target::new(&project, subject, session)?;
    let profile = ctx.profile().ok();
    let workers = workers.resolve(ctx);
    let direct = if prearchive {
        false
    } else if direct {
        true
    } else {
        profile.and_then(|p| p.direct_archive).unwrap_or(true)
    };
    let routing = if direct {
        Routing::DirectArchive
    } else {
        Routing::Prearchive
    };
    Ok((target, routing, workers))
}

/// The profile's `archive_mode` (tar when unset).
pub(super) fn parse_profile_mode(text: Option<&str>) -> Result<Mode> {
    match text.map(str::to_ascii_lowercase).as_deref() {
        None | Some("tar") => Ok(Mode::Tar),
        Some("zip") => Ok(Mode::Zip),
        Some("gradual") => Ok(Mode::Gradual),
        Some(other) => Err(Error::Config(format!(
            "profile archive_mode '{other}' is not tar, zip or gradual"
        ))),
    }
}

/// The profile's `overwrite` (delete when unset).
pub(super) fn parse_profile_overwrite(text: Option<&str>) -> Result<Overwrite> {
    match text.map(str::to_ascii_lowercase).as_deref() {
        None | Some("delete") => Ok(Overwrite::Delete),
        Some("append") => Ok(Overwrite::Append),
        Some("none") => Ok(Overwrite::None),
        Some(other) => Err(Error::Config(format!(
            "profile overwrite '{other}' is not none, append or delete"
        ))),
    }
}
