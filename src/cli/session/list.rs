//! `session list`: the sessions of a project, paged on the server when only the first rows are
//! wanted.

use std::path::PathBuf;

use clap::Args;

use crate::cli::shared::{ListArgs, ProjectArg};
use crate::cli::Context;
use crate::core::output::listing_of;
use crate::core::Result;
use crate::services::manifest::{self, Entry};
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
    /// Also write the listed sessions (after --filter/--sort-by/--limit) to FILE as JSON lines,
    /// for `session download --manifest FILE`
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
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
    if let Some(path) = &args.manifest {
        let selected = listing_of(&rows, &controls)?;
        let entries: Vec<Entry> = selected
            .rows
            .iter()
            .map(|r| {
                let text = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                Entry {
                    project: project.clone(),
                    session_id: text("id"),
                    session_label: text("label"),
                    subject_label: text("subject"),
                    scan_id: None,
                    scan_type: String::new(),
                }
            })
            .collect();
        manifest::write(path, &entries)?;
        ctx.messages().info(&format!(
            "Wrote {} session(s) to the manifest {}",
            entries.len(),
            path.display()
        ));
    }
    ctx.out().rows(&rows, &controls)
}
