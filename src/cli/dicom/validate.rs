//! `dicom validate PATH [-r]`.

use std::path::PathBuf;

use clap::Args;

use super::{blocking, json, listing, out_err};
use crate::cli::Context;
use crate::core::output::OutputFormat;
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
    let invalid: Vec<_> = report.files.iter().filter(|f| !f.valid).collect();
    let opts = ctx.output_options().clone();
    if opts.quiet {
        let mut out = ctx.out();
        for f in &invalid {
            out.line(&format!("{}: {}", f.file, f.errors.join(", ")))
                .map_err(out_err)?;
        }
    } else if opts.format == OutputFormat::Json {
        json(ctx, &report)?;
    } else if opts.format == OutputFormat::Tsv {
        let cols = [
            ("file", "File"),
            ("valid", "Valid"),
            ("errors", "Errors"),
            ("warnings", "Warnings"),
            ("patient_id", "Patient ID"),
            ("patient_name", "Patient Name"),
            ("modality", "Modality"),
        ];
        ctx.out()
            .list(&listing(&report.files, &cols, "file")?)
            .map_err(out_err)?;
    } else {
        let total = report.files.len() + report.skipped_count;
        let mut summary = format!(
            "Validated {total} files\n  Valid: {}\n  Invalid: {}",
            report.valid_count, report.invalid_count
        );
        if report.skipped_count > 0 {
            summary.push_str(&format!(
                "\n  Not DICOM (skipped): {}",
                report.skipped_count
            ));
        }
        ctx.out().line(&summary).map_err(out_err)?;
        if !invalid.is_empty() {
            let mut l = listing(&invalid, &[("file", "File"), ("errors", "Errors")], "file")?;
            l.title = Some("Invalid files".into());
            ctx.out().list(&l).map_err(out_err)?;
        }
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
