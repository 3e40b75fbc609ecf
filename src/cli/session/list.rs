//! `session list`: the sessions of a project, paged on the server when only the first rows are
//! wanted.

use clap::Args;

use crate::cli::shared::{ListArgs, ProjectArg};
use crate::cli::Context;
use crate::core::Result;
use crate::services::sessions::{self, ListQuery};

/// `session list`.
#[derive(Debug, Args)]
pub struct SessionListArgs {
    #[command(flatten)]
    pub project: ProjectArg,
    /// Only sessions of this subject label
    #[arg(short = 'S', long, value_name = "SUBJECT_LABEL")]
    pub subject: Option<String>,
    /// Only sessions of this modality (MR, PET, CT, ...; OCT means OPT)
    #[arg(long, value_name = "M")]
    pub modality: Option<String>,
    #[command(flatten)]
    pub list: ListArgs,
}

/// Run `session list`.
pub async fn run(args: SessionListArgs, ctx: &Context) -> Result<()> {
    let controls = args.list.controls()?;
    let modality = args
        .modality
        .as_deref()
        .map(sessions::normalize_modality)
        .transpose()?;
    let project = args.project.require(ctx)?;
    let q = ListQuery {
        subject: args.subject,
        modality,
        server_limit: if controls.needs_full_set() {
            None
        } else {
            controls.limit
        },
    };
    let rows = sessions::list(ctx.client().await?, &project, &q).await?;
    ctx.out().rows(&rows, &controls)
}
