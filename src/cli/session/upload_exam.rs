//! `session upload-exam EXAM_ROOT`: DICOM plus the non-DICOM folders and files next to it.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::upload::{resolve_common, Mode};
use crate::cli::shared::{refuse_password, ProjectArg, WorkersArg};
use crate::cli::Context;
use crate::core::{validation, Error, Result};
use crate::services::upload::{self, ExamOptions, ExamPreview, ImportSettings, Overwrite};

/// Arguments of `session upload-exam`.
#[derive(Debug, Args)]
pub struct UploadExamArgs {
    /// Exam folder: DICOM anywhere below, plus folders/files to attach as resources
    #[arg(value_name = "EXAM_ROOT")]
    pub root: PathBuf,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Subject label
    #[arg(short = 'S', long, value_name = "SUBJECT")]
    pub subject: String,
    /// Session label
    #[arg(
        short = 'E',
        long = "session",
        visible_alias = "experiment",
        value_name = "LABEL"
    )]
    pub session: String,
    /// How the DICOM is sent: a few parallel tar or zip archives, or one request per file
    /// (gradual, the reference's way)
    #[arg(long, value_enum, default_value = "tar")]
    pub mode: Mode,
    #[command(flatten)]
    pub workers: WorkersArg,
    /// Archive directly [default unless the profile says otherwise]
    #[arg(long, conflicts_with = "prearchive")]
    pub direct_archive: bool,
    /// Send DICOM to the prearchive instead
    #[arg(long)]
    pub prearchive: bool,
    /// Seconds to wait for the session to be archived before attaching resources (0: no wait)
    #[arg(long, value_name = "SECONDS", default_value_t = 14400)]
    pub wait: u64,
    /// Seconds between checks while waiting
    #[arg(long, hide = true, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub wait_interval: u64,
    /// Resource label for loose top-level files
    #[arg(long, hide = true, default_value = "MISC")]
    pub misc_label: String,
    /// Upload DICOM only
    #[arg(long, hide = true)]
    pub skip_resources: bool,
    /// Attach resources only (DICOM already uploaded)
    #[arg(long, hide = true)]
    pub attach_only: bool,
    /// Show the plan and send nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not read the attached resources back to compare them with what was sent
    #[arg(long)]
    pub no_check: bool,
    /// Refused: passwords on the command line leak into the process list
    #[arg(long, hide = true, value_name = "PASSWORD")]
    pub password: Option<String>,
}

/// Run `session upload-exam`.
pub async fn run(a: UploadExamArgs, ctx: &Context) -> Result<()> {
    refuse_password(&a.password)?;
    if !a.root.is_dir() {
        return Err(Error::usage(format!(
            "EXAM_ROOT {} is not a directory",
            a.root.display()
        )));
    }
    let (target, routing, workers) = resolve_common(
        ctx,
        &a.project,
        &a.subject,
        &a.session,
        &a.workers,
        a.direct_archive,
        a.prearchive,
    )?;
    let misc_label = validation::validate_resource_label(&a.misc_label)?;
    let plan = upload::classify_exam(&a.root)?;
    let settings = ImportSettings {
        target,
        overwrite: Overwrite::Append,
        routing,
        ignore_unparsable: true,
    };
    if a.dry_run {
        ctx.messages()
            .dry_run("would upload the exam as follows; nothing was sent");
        let preview = ExamPreview::new(&a.root, &settings, &plan, workers, &misc_label);
        return ctx.out().item(&preview);
    }
    ctx.set_cancel_aware();
    let client = ctx.client().await?;
    if routing == upload::Routing::DirectArchive && !a.attach_only {
        upload::check_direct_archive(client).await?;
    }
    let opts = ExamOptions {
        workers,
        sending: a.mode.into(),
        wait: Duration::from_secs(a.wait),
        interval: Duration::from_secs(a.wait_interval),
        misc_label,
        skip_resources: a.skip_resources,
        attach_only: a.attach_only,
        check: !a.no_check,
    };
    let report =
        upload::upload_exam(client, &settings, &a.root, plan, &opts, ctx.cancel_token()).await?;
    if let Some(rerun) = report.resources.get("rerun").and_then(|v| v.as_str()) {
        ctx.messages().warn(&format!(
            "session '{}' is not archived yet; {} resource item(s) not attached. Re-run once archived:\n  {rerun}",
            report.session,
            report.resources.get("pending").and_then(|v| v.as_u64()).unwrap_or(0)
        ));
    } else {
        ctx.messages().success(&format!(
            "Upload-exam complete: DICOM uploaded {}/{}",
            report.dicom["uploaded"], report.dicom["total"]
        ));
    }
    ctx.out().either(&report, Some(&report.flat_record()?))
}
