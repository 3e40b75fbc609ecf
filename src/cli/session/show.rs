//! `session show`: one session with its scans, session resources and shares.

use clap::Args;

use crate::cli::shared::SessionRef;
use crate::cli::Context;
use crate::core::Result;
use crate::services::{experiments, sessions};

/// `session show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub session: SessionRef,
}

/// Run `session show`.
pub async fn run(args: ShowArgs, ctx: &Context) -> Result<()> {
    let project = args.session.project.or_default(ctx);
    let client = ctx.client().await?;
    let e = experiments::resolve(client, project.as_deref(), &args.session.experiment).await?;
    let detail = sessions::show(client, &e).await?;
    ctx.out().sectioned(&detail)
}
