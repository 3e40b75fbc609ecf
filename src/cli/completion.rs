//! `xnatctl completion SHELL` and `xnatctl man`: shell completion scripts and man pages,
//! both generated from the clap tree so they can never drift from the real commands.

use std::path::PathBuf;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, Context};
use crate::core::{Error, Result};

/// Arguments of `completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// Shell to generate the script for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Arguments of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write the pages into (created if missing)
    #[arg(long, value_name = "DIR", default_value = "man")]
    pub out_dir: PathBuf,
}

/// Print the completion script for a shell to stdout.
pub fn run_completion(a: CompletionArgs, ctx: &Context) -> Result<()> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "xnatctl", &mut buf);
    let text = String::from_utf8_lossy(&buf);
    ctx.out().raw(&text)
}

/// Write one man page per command into a directory.
pub fn run_man(a: ManArgs, ctx: &Context) -> Result<()> {
    std::fs::create_dir_all(&a.out_dir)
        .map_err(|e| Error::io(format!("creating {}", a.out_dir.display()), e))?;
    let cmd = Cli::command();
    clap_mangen::generate_to(cmd, &a.out_dir)
        .map_err(|e| Error::io(format!("writing man pages into {}", a.out_dir.display()), e))?;
    let count = std::fs::read_dir(&a.out_dir)
        .map(|d| d.count())
        .unwrap_or_default();
    ctx.messages().success(&format!(
        "wrote {count} man pages to {}",
        a.out_dir.display()
    ));
    Ok(())
}
