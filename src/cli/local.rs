//! `local extract`: unpack downloaded XNAT zips in place, safely, into the download layout.
//! No network and no configuration.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{json, Map};

use super::Context;
use crate::core::output::{Column, Listing};
use crate::core::{Error, Result};
use crate::services::extract::{extract_zip, find_zips};

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
    let mut rows = Vec::new();
    let mut failed = 0;
    for zip in &zips {
        let target = zip.parent().map(PathBuf::from).unwrap_or_default();
        let name = zip.display().to_string();
        let mut row = Map::new();
        row.insert("archive".into(), json!(name));
        row.insert("target".into(), json!(target.display().to_string()));
        // Look before writing: an archive with any unsafe member is refused as a whole.
        let checked = extract_zip(zip, &target, 1, true).and_then(|r| {
            if r.unsafe_entries.is_empty() {
                Ok(())
            } else {
                Err(Error::Download(format!(
                    "refused {name}: unsafe entries {}",
                    r.unsafe_entries.join(", ")
                )))
            }
        });
        match checked.and_then(|()| extract_zip(zip, &target, 1, args.dry_run)) {
            Ok(r) => {
                if args.dry_run {
                    for f in &r.files {
                        ctx.messages()
                            .dry_run(&format!("{name} -> {}", target.join(f).display()));
                    }
                }
                let removed = cleanup && !args.dry_run && r.skipped_files.is_empty();
                if cleanup && !args.dry_run && !r.skipped_files.is_empty() {
                    ctx.messages().warn(&format!(
                        "kept {name}: {} member(s) were not extracted (hidden, or outside the session folder): {}",
                        r.skipped_files.len(),
                        r.skipped_files
                            .iter()
                            .take(5)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                if removed {
                    std::fs::remove_file(zip)
                        .map_err(|e| Error::io(format!("removing {name}"), e))?;
                }
                row.insert("status".into(), json!("ok"));
                row.insert("files".into(), json!(r.files.len()));
                row.insert("removed".into(), json!(removed));
                row.insert("error".into(), json!(null));
            }
            Err(e) => {
                failed += 1;
                ctx.messages().error(&e);
                row.insert("status".into(), json!("failed"));
                row.insert("files".into(), json!(0));
                row.insert("removed".into(), json!(false));
                row.insert("error".into(), json!(e.to_string()));
            }
        }
        rows.push(row);
    }
    let total = rows.len();
    if ctx.is_json() {
        let doc = json!({
            "input_dir": args.input_dir.display().to_string(),
            "dry_run": args.dry_run,
            "extracted": total - failed,
            "failed": failed,
            "archives": rows,
        });
        ctx.out().json(&doc)?;
    } else {
        let listing = Listing {
            columns: vec![
                Column::new("archive", "Archive"),
                Column::new("status", "Status"),
                Column::new("files", "Files"),
                Column::new("target", "Target"),
                Column::new("error", "Error"),
            ],
            rows,
            id_field: "archive".into(),
            title: None,
        };
        ctx.out().list(&listing)?;
    }
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
