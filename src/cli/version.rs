//! `xnatctl version`: this build's version, commit, build date and target (`-q`: the version).

use clap::Args;
use serde::Serialize;

use super::Context;
use crate::core::output::Item;
use crate::core::Result;

/// Arguments of `version` (none besides the global options).
#[derive(Debug, Args)]
pub struct VersionArgs {}

/// What `version` prints.
#[derive(Debug, Serialize)]
pub struct BuildInfo {
    /// The release version.
    pub version: &'static str,
    /// The git commit it was built from (`unknown` outside a checkout).
    pub commit: &'static str,
    /// The day it was built (`SOURCE_DATE_EPOCH` when set).
    pub build_date: &'static str,
    /// The target triple (which release archive `upgrade` fetches).
    pub target: &'static str,
    /// The compiler.
    pub rustc: &'static str,
}

impl Item for BuildInfo {
    const ID: &'static str = "version";
    const LABELS: &'static [(&'static str, &'static str)] = &[("rustc", "Rustc")];
}

/// This build's facts.
pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("XNATCTL_COMMIT"),
        build_date: env!("XNATCTL_BUILD_DATE"),
        target: env!("XNATCTL_TARGET"),
        rustc: env!("XNATCTL_RUSTC"),
    }
}

/// Run `version`.
pub fn run(_a: VersionArgs, ctx: &Context) -> Result<()> {
    ctx.out().item(&build_info())
}
