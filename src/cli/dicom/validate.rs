//! `dicom validate PATH [-r]`.

use std::path::PathBuf;

use clap::Args;

use super::blocking;
use crate::cli::Context;
use crate::core::output::{ListControls, OutputFormat};
use crate::core::{Error, Result};
use crate::services::dicom::{validate, walk};

/// Arguments of `dicom validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A DICOM file, or a directory of them
    pub path: PathBuf,
    /// Include subdirectories
    #[arg(short = 'r', long)]
    pub recursive: bool,
}

/// Validate, print the verdicts, and fail (exit 1) when any DICOM file is invalid.
pub async fn run(args: ValidateArgs, ctx: &Context) -> Result<()> {
    let report = blocking(ctx, move |_| {
        validate::validate(&args.path, args.recursive, walk::default_threads())
    })
    .await?;
    let opts = ctx.output_options().clone();
    let invalid: Vec<_> = report.files.iter().filter(|f| !f.valid).cloned().collect();
    if opts.quiet {
        // As the reference: `file: error, error` per invalid file.
        for f in &invalid {
            ctx.out()
                .line(&format!("{}: {}", f.file, f.errors.join(", ")))?;
        }
    } else if opts.format == OutputFormat::Table {
        let mut summary = format!(
            "Validated {} files\n  Valid: {}\n  Invalid: {}",
            report.files.len() + report.skipped_count,
            report.valid_count,
            report.invalid_count
        );
        if report.skipped_count > 0 {
            summary.push_str(&format!(
                "\n  Not DICOM (skipped): {}",
                report.skipped_count
            ));
        }
        ctx.out().line(&summary)?;
        if !invalid.is_empty() {
            ctx.out().rows(&invalid, &ListControls::default())?;
        }
    } else {
        ctx.out().report(&report)?;
    }
    if report.invalid_count > 0 {
        return Err(Error::Dicom(format!(
            "{} of {} DICOM files are invalid",
            report.invalid_count,
            report.files.len()
        )));
    }
    Ok(())
}
