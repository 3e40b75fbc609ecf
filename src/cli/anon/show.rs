//! `xnatctl anon show [-P P]`: the script and whether it is enabled; for a project without an
//! active override, a warning says whether one is stored but disabled or was never set.

use clap::Args;

use crate::cli::Context;
use crate::core::Result;
use crate::services::anon::{self, Override, Scope};

/// Arguments of `anon show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Show this project's override script (default: the site-wide script)
    #[arg(short = 'P', long = "project", value_name = "PROJECT")]
    pub project: Option<String>,
}

/// Run `anon show`.
pub async fn run(a: ShowArgs, ctx: &Context) -> Result<()> {
    let scope = Scope::of(a.project.as_deref())?;
    let shown = anon::show(ctx.client().await?, &scope).await?;
    if let (Some(why), Some(p)) = (shown.inactive, scope.project()) {
        ctx.messages().warn(&match why {
            Override::Disabled => format!(
                "Project {p} has a script set but it is disabled; it currently inherits the \
                 site-wide script. Run `anon enable -P {p}` to activate it."
            ),
            Override::NeverSet => {
                format!("Project {p} has no override script; it inherits the site-wide script.")
            }
        });
    }
    ctx.out().item(&shown.script)
}
