//! `local extract`: unpack downloaded XNAT zips in place, safely, into the download layout.
//! No network and no configuration.

use std::path::PathBuf;

use super::Context;
use crate::core::{Error, Result};
use crate::services::extract::{extract_in_place, find_zips, LocalExtract};
use clap::{Args, Subcommand};

/// The `local` subcommands.
#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Extract downloaded ZIP archives next to themselves, refusing unsafe members
    Extract(ExtractArgs),
}

/// Arguments of `local extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Directory holding the ZIP files
    pub input_dir: PathBuf,
    /// Delete each archive after a clean extraction (the default)
    #[arg(long, overrides_with = "no_cleanup")]
    pub cleanup: bool,
    /// Keep the archives
    #[arg(long)]
    pub no_cleanup: bool,
    /// Look for archives in subdirectories too
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Show where every member would go and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Run a `local` subcommand.
pub async fn run(cmd: LocalCommand, ctx: &Context) -> Result<()> {
    match cmd {
        LocalCommand::Extract(a) => extract(a, ctx),
    }
}

fn extract(args: ExtractArgs, ctx: &Context) -> Result<()> {
    if !args.input_dir.is_dir() {
        return Err(Error::InvalidPath {
            value: args.input_dir.display().to_string(),
            reason: "not a directory".into(),
        });
    }
    let zips = find_zips(&args.input_dir, args.recursive)?;
    ctx.messages()
        .info(&format!("Found {} ZIP file(s)", zips.len()));
    let cleanup = !args.no_cleanup;
    let mut archives = Vec::with_capacity(zips.len());
    for zip in &zips {
        let outcome = extract_in_place(zip, args.dry_run, cleanup)?;
        for path in &outcome.planned {
            ctx.messages()
                .dry_run(&format!("{} -> {}", outcome.archive, path.display()));
        }
        if !outcome.kept_for.is_empty() {
            let some: Vec<&str> = outcome
                .kept_for
                .iter()
                .take(5)
                .map(String::as_str)
                .collect();
            ctx.messages().warn(&format!(
                "kept {}: {} member(s) were not extracted (hidden, or outside the session folder): {}",
                outcome.archive,
                outcome.kept_for.len(),
                some.join(", ")
            ));
        }
        if let Some(e) = &outcome.error {
            ctx.messages().error(&Error::Operation(e.clone()));
        }
        archives.push(outcome);
    }
    let total = archives.len();
    let failed = archives.iter().filter(|a| a.status == "failed").count();
    let report = LocalExtract {
        input_dir: args.input_dir.display().to_string(),
        dry_run: args.dry_run,
        extracted: total - failed,
        failed,
        archives,
    };
    ctx.out().report(&report)?;
    if failed > 0 {
        return Err(Error::Batch { failed, total });
    }
    if args.dry_run {
        ctx.messages().dry_run(&format!(
            "would extract {total} ZIP file(s); nothing written"
        ));
    } else {
        ctx.messages()
            .success(&format!("Extracted {total} ZIP file(s)"));
    }
    Ok(())
}
