//! `xnatctl anon disable [-P P]`.

use clap::Args;

use crate::cli::shared::args::ConfirmArgs;
use crate::cli::Context;
use crate::core::Result;

/// Arguments of `anon disable`.
#[derive(Debug, Args)]
pub struct DisableArgs {
    /// The project whose override script to disable (default: the site-wide script)
    #[arg(short = 'P', long = "project", value_name = "PROJECT")]
    pub project: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `anon disable`.
pub async fn run(a: DisableArgs, ctx: &Context) -> Result<()> {
    super::toggle(a.project.as_deref(), false, &a.confirm, ctx).await
}
