//! `dicom modify PATH -t KEYWORD=VALUE ... [-r] [--backup] [--dry-run]`.

use std::path::PathBuf;

use clap::Args;

use super::blocking;
use crate::cli::Context;
use crate::core::output::OutputFormat;
use crate::core::{Error, Result};
use crate::services::dicom::modify::{self, Assignment, ModifyOptions};
use crate::services::dicom::walk;

fn assignment(text: &str) -> std::result::Result<Assignment, String> {
    modify::parse_assignment(text).map_err(|e| e.to_string())
}

/// Arguments of `dicom modify`.
#[derive(Debug, Args)]
pub struct ModifyArgs {
    /// A DICOM file, or a directory of them
    pub path: PathBuf,
    /// KEYWORD=VALUE to set (standard keyword; the value must fit its VR); repeatable
    #[arg(short = 't', long = "tag", value_name = "KEYWORD=VALUE", required = true, value_parser = assignment)]
    pub tags: Vec<Assignment>,
    /// Include subdirectories
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Copy each file to <file>.bak before changing it
    #[arg(short = 'b', long)]
    pub backup: bool,
    /// Show the changes and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Modify, report the changes, and fail (exit 1) when any DICOM file could not be changed.
pub async fn run(args: ModifyArgs, ctx: &Context) -> Result<()> {
    let opts = ModifyOptions {
        recursive: args.recursive,
        backup: args.backup,
        dry_run: args.dry_run,
        threads: walk::default_threads(),
    };
    let (path, tags) = (args.path, args.tags);
    let report = blocking(ctx, move |cancel| {
        modify::modify(&path, &tags, &opts, cancel)
    })
    .await?;
    let opts = ctx.output_options().clone();
    if opts.format == OutputFormat::Table && !opts.quiet {
        let verb = if args.dry_run {
            "Would modify"
        } else {
            "Modified"
        };
        ctx.messages().success(&format!(
            "{verb} {} files, skipped {}, failed {}",
            report.modified, report.skipped, report.failed
        ));
        let mut text = String::new();
        for f in &report.files {
            if !f.changes.is_empty() {
                text.push_str(&format!("  {}:\n", f.file));
                for c in &f.changes {
                    let old = c.old.as_deref().unwrap_or("(absent)");
                    text.push_str(&format!("    {}: {old} -> {}\n", c.keyword, c.new));
                }
            } else if let (Some(e), "failed") = (&f.error, f.status.as_str()) {
                text.push_str(&format!("  {}: failed: {e}\n", f.file));
            }
        }
        ctx.out().raw(&text)?;
    } else {
        ctx.out().report(&report)?;
    }
    if report.failed > 0 {
        return Err(Error::Batch {
            failed: report.failed,
            total: report.files.len() - report.skipped,
        });
    }
    Ok(())
}
