//! `project transfer-check`: readiness of both sides, without writing anything.

use clap::Args;

use super::transfer::DestArgs;
use crate::cli::Context;
use crate::core::output::ListControls;
use crate::core::validation::validate_project_id;
use crate::core::{Error, Result};
use crate::services::project_transfer::{self, Endpoint};

/// Arguments of `project transfer-check`.
#[derive(Debug, Args)]
pub struct TransferCheckArgs {
    /// Source project ID
    #[arg(short = 'P', long = "project", value_name = "PROJECT")]
    pub project: String,
    #[command(flatten)]
    pub dest: DestArgs,
}

/// Run `project transfer-check`.
pub async fn run(a: TransferCheckArgs, ctx: &Context) -> Result<()> {
    let password = a.dest.read_password()?;
    let project = validate_project_id(&a.project)?;
    let dest_project = validate_project_id(&a.dest.dest_project)?;
    let src = match ctx.client().await {
        Ok(c) => Ok(Endpoint {
            client: c.clone(),
            project,
        }),
        Err(e) => Err(e.to_string()),
    };
    let dst = match a.dest.client(ctx, password).await {
        Ok(c) => Ok(Endpoint {
            client: c,
            project: dest_project,
        }),
        Err(e @ Error::Usage(_)) => return Err(e),
        Err(e) => Err(e.to_string()),
    };
    let rows = project_transfer::check(
        src.as_ref().map_err(Clone::clone),
        dst.as_ref().map_err(Clone::clone),
    )
    .await;
    ctx.out().rows(&rows, &ListControls::default())?;
    let failed = rows.iter().filter(|r| !r.passed()).count();
    if failed > 0 {
        return Err(Error::Operation(format!("{failed} check(s) failed")));
    }
    Ok(())
}
