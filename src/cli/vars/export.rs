//! `vars export -P PROJ --level subject|session --out FILE`.

use std::path::PathBuf;

use clap::Args;

use super::LevelArg;
use crate::cli::shared::ProjectArg;
use crate::cli::Context;
use crate::core::output::ListControls;
use crate::core::Result;
use crate::services::metadata::{self, sheet};

/// Arguments of `vars export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub project: ProjectArg,
    /// One row per subject or per session
    #[arg(long, value_enum)]
    pub level: LevelArg,
    /// Columns to write after id and label (default: every standard field and variable)
    #[arg(long, value_name = "A,B,..")]
    pub columns: Option<String>,
    /// Keep rows whose FIELD matches the glob (case-insensitive), e.g. `gender:female` or
    /// `var:group:ctl*` (the longest column name that matches wins); repeatable
    #[arg(long, value_name = "FIELD:GLOB")]
    pub filter: Vec<String>,
    /// The file to write; its extension (.csv, .tsv, .json) picks the format
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Run `vars export`.
pub async fn run(a: ExportArgs, ctx: &Context) -> Result<()> {
    sheet::Format::of(&a.out)?;
    let controls = ListControls::parse(&a.filter, None, None, None)?;
    let project = a.project.require(ctx)?;
    let level = a.level.into();
    let snap = metadata::snapshot(ctx.client().await?, &project, level).await?;
    let table = metadata::export_sheet(&snap, &controls, a.columns.as_deref())?;
    sheet::write(&a.out, &table)?;
    ctx.messages().success(&format!(
        "Wrote {} {}(s) x {} column(s) of {project} to {}",
        table.rows.len(),
        snap.level.noun(),
        table.columns.len(),
        a.out.display()
    ));
    Ok(())
}
