//! `xnatctl container logs ID [--stderr] [--follow [--interval S]]`: the log as raw bytes on
//! stdout; `--follow` keeps printing what is new until the container ends (exit 1 when it did
//! not complete, 7 on Ctrl-C).

use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;

use crate::cli::shared::poll::{self, StatusLine};
use crate::cli::Context;
use crate::core::Result;
use crate::services::containers;
use crate::services::poll::{job_failed, NoStatus, PollStatus};

/// Arguments of `container logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Container id
    #[arg(value_name = "ID")]
    pub id: String,
    /// The stderr log instead of stdout
    #[arg(long)]
    pub stderr: bool,
    /// Keep printing new output until the container ends
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Seconds between looks with --follow (it grows while nothing changes, up to 6 times this)
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = poll::seconds)]
    pub interval: Duration,
}

/// Run `container logs`.
pub async fn run(a: LogsArgs, ctx: &Context) -> Result<()> {
    let client = ctx.client().await?;
    containers::show(client, &a.id).await?;
    if !a.follow {
        let body = containers::log(client, &a.id, a.stderr).await?;
        return ctx.out().bytes(&body);
    }
    let plan = poll::plan(ctx, a.interval, a.interval * 6, None);
    // The log itself shows progress on a terminal; the status line is for a redirected stdout.
    let line = (!std::io::stdout().is_terminal())
        .then(|| StatusLine::new(ctx, &format!("container {}", a.id)));
    let status: &dyn PollStatus = match &line {
        Some(l) => l,
        None => &NoStatus,
    };
    let mut write = |bytes: &[u8]| ctx.out().bytes(bytes);
    let c = containers::follow(client, &a.id, a.stderr, &plan, status, &mut write).await?;
    drop(line);
    if c.status() != "Complete" {
        let code = c.exit_code().map(|c| format!("exit code {c}"));
        return Err(job_failed(
            &format!("container {}", a.id),
            c.status(),
            code.as_deref(),
        ));
    }
    Ok(())
}
