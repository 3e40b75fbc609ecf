//! `project transfer-init`: print or write the transfer configuration scaffold (no server).

use std::path::PathBuf;

use clap::Args;

use crate::cli::Context;
use crate::core::validation::validate_project_id;
use crate::core::{Error, Result};
use crate::services::project_transfer::TransferConfig;

/// Arguments of `project transfer-init`.
#[derive(Debug, Args)]
pub struct TransferInitArgs {
    /// Source project ID
    #[arg(short = 'P', long = "project", value_name = "PROJECT")]
    pub project: String,
    /// Destination project ID
    #[arg(long = "dest-project", value_name = "PROJECT")]
    pub dest_project: String,
    /// Write the scaffold to FILE instead of stdout
    #[arg(short = 'f', long = "output-file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// Run `project transfer-init`.
pub async fn run(a: TransferInitArgs, ctx: &Context) -> Result<()> {
    let project = validate_project_id(&a.project)?;
    let dest = validate_project_id(&a.dest_project)?;
    let text = TransferConfig::new(&project, &dest).scaffold()?;
    match a.file {
        None => ctx.out().raw(&text),
        Some(path) => {
            std::fs::write(&path, text)
                .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
            ctx.messages()
                .success(&format!("Config written to {}", path.display()));
            Ok(())
        }
    }
}
