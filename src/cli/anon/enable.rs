//! `xnatctl anon enable [-P P]`.

use clap::Args;

use crate::cli::shared::args::ConfirmArgs;
use crate::cli::Context;
use crate::core::Result;

/// Arguments of `anon enable`.
#[derive(Debug, Args)]
pub struct EnableArgs {
    /// The project whose override script to enable (default: the site-wide script)
    #[arg(short = 'P', long = "project", value_name = "PROJECT")]
    pub project: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `anon enable`.
pub async fn run(a: EnableArgs, ctx: &Context) -> Result<()> {
    super::toggle(a.project.as_deref(), true, &a.confirm, ctx).await
}
