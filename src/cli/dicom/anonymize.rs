//! `dicom anonymize INPUT OUTPUT [-r] [--deid-profile basic|reference] ...`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::blocking;
use crate::cli::Context;
use crate::core::output::OutputFormat;
use crate::core::{Error, Result};
use crate::services::dicom::anonymize::{self, AnonymizeOptions, Profile, UidMap};
use crate::services::dicom::walk;

/// The `--profile` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile
    Basic,
    /// The Python xnatctl's behaviour: delete 7 attributes, keep names, IDs and UIDs
    Reference,
}

/// Arguments of `dicom anonymize`.
#[derive(Debug, Args)]
pub struct AnonymizeArgs {
    /// A DICOM file, or a directory of them
    pub input: PathBuf,
    /// Output file (for a file input) or directory (mirrors the input's layout)
    #[arg(value_name = "OUTPUT")]
    pub output_path: PathBuf,
    /// Include subdirectories
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// De-identification rules (named so because -p/--profile picks a config profile)
    #[arg(long, value_enum, default_value_t = ProfileArg::Basic)]
    pub deid_profile: ProfileArg,
    /// New PatientID (basic profile default: ANONYMIZED)
    #[arg(long, value_name = "ID")]
    pub patient_id: Option<String>,
    /// New PatientName (basic profile default: ANONYMIZED)
    #[arg(long, value_name = "NAME")]
    pub patient_name: Option<String>,
    /// Keep private elements (basic profile removes them)
    #[arg(long, conflicts_with = "remove_private")]
    pub keep_private: bool,
    /// Remove private elements (what the basic profile always does)
    #[arg(long)]
    pub remove_private: bool,
    /// Keep dates and times (Retain Longitudinal Temporal Information Full Dates Option)
    #[arg(long)]
    pub retain_dates: bool,
    /// Keep every UID (Retain UIDs Option)
    #[arg(long)]
    pub retain_uids: bool,
    /// JSON file mapping original to new UIDs: read if it exists, updated after the run, so
    /// several runs give one study the same new UIDs
    #[arg(long, value_name = "FILE")]
    pub uid_map: Option<PathBuf>,
    /// Show what would be written and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Anonymize, report per file, and fail (exit 1) when any DICOM file could not be written.
pub async fn run(args: AnonymizeArgs, ctx: &Context) -> Result<()> {
    let reference = args.deid_profile == ProfileArg::Reference;
    if reference && (args.keep_private || args.retain_dates || args.retain_uids) {
        return Err(Error::Usage(
            "--keep-private, --retain-dates and --retain-uids apply to --deid-profile basic only"
                .into(),
        ));
    }
    let opts = AnonymizeOptions {
        profile: if reference {
            Profile::Reference
        } else {
            Profile::Basic
        },
        patient_id: args.patient_id,
        patient_name: args.patient_name,
        keep_private: args.keep_private,
        remove_private: args.remove_private,
        retain_dates: args.retain_dates,
        retain_uids: args.retain_uids,
        recursive: args.recursive,
        dry_run: args.dry_run,
        threads: walk::default_threads(),
    };
    let uids = match &args.uid_map {
        Some(p) => UidMap::load(p)?,
        None => UidMap::new(),
    };
    let (input, output, map_file) = (args.input, args.output_path, args.uid_map);
    let report = blocking(ctx, move |cancel| {
        let result = anonymize::anonymize(&input, &output, &opts, &uids, cancel);
        // Keep the mappings of whatever was written, even when the run stopped early.
        if let (Some(path), false) = (&map_file, opts.dry_run) {
            if result.is_ok() || matches!(result, Err(Error::Cancelled)) {
                uids.save(path)?;
            }
        }
        result
    })
    .await?;
    if args.dry_run && !ctx.is_json() {
        for f in report
            .files
            .iter()
            .filter(|f| f.status == "would_anonymize")
        {
            ctx.messages()
                .dry_run(&format!("Would anonymize: {} -> {}", f.input, f.output));
        }
    }
    let opts = ctx.output_options().clone();
    if opts.format == OutputFormat::Table && !opts.quiet {
        for f in report.files.iter().filter(|f| f.status == "failed") {
            let why = f.error.as_deref().unwrap_or("failed");
            ctx.messages().warn(&format!("{}: {why}", f.input));
        }
        let verb = if args.dry_run {
            "Would process"
        } else {
            "Processed"
        };
        let mut line = format!(
            "{verb} {} files, skipped {} files",
            report.processed, report.skipped
        );
        if report.failed > 0 {
            line.push_str(&format!(", failed {}", report.failed));
        }
        ctx.messages().success(&line);
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
