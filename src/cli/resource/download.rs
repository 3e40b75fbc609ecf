//! `resource download`: one resource of a session or scan, as extracted files through the shared
//! download wiring in `cli::shared::download`, or as one streamed zip archive.

use std::path::PathBuf;

use clap::Args;

use crate::cli::shared::download::{resolve_target, run as download, Target, TransferArgs};
use crate::cli::shared::ProjectArg;
use crate::cli::Context;
use crate::core::validation::{validate_resource_label, validate_scan_id};
use crate::core::{Error, Result};
use crate::services::download::{
    mb, resource_zip_path, PlanRequest, ResourceFilter, ScanSelection, ZipFile,
};

/// Arguments of `resource download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Session accession ID, or label with -P
    pub session: String,
    /// Resource label
    pub label: String,
    /// Take the resource of this scan instead of the session's own
    #[arg(long, value_name = "SCAN_ID")]
    pub scan: Option<String>,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Subject ID or label the session must belong to (needs a project)
    #[arg(short = 'S', long, value_name = "SUBJECT")]
    pub subject: Option<String>,
    /// Write the resource as one zip archive to PATH (streamed, renamed into place when complete)
    /// instead of extracted files under --out
    #[arg(short = 'f', long, value_name = "PATH", conflicts_with = "file")]
    pub output_file: Option<PathBuf>,
    /// Deprecated alias of --output-file
    #[arg(long, value_name = "PATH", hide = true)]
    pub file: Option<PathBuf>,
    /// Output, workers, verification, dry run.
    #[command(flatten)]
    pub transfer: TransferArgs,
}

/// `resource download`.
pub async fn run(args: DownloadArgs, ctx: &Context) -> Result<()> {
    let label = validate_resource_label(&args.label)?;
    if args.file.is_some() {
        ctx.messages()
            .warn("--file is deprecated; use -f/--output-file");
    }
    let project = args.project.or_default(ctx);
    let target = Target {
        project: project.as_deref(),
        subject: args.subject.as_deref(),
        experiment: &args.session,
    };
    if let Some(zip) = args.output_file.as_ref().or(args.file.as_ref()) {
        let scan = args.scan.as_deref().map(validate_scan_id).transpose()?;
        return resource_zip(ctx, target, &label, scan.as_deref(), zip, &args.transfer).await;
    }
    let (scans, session_resources) = match &args.scan {
        Some(s) => (ScanSelection::Only(vec![validate_scan_id(s)?]), false),
        None => (ScanSelection::None, true),
    };
    let req = PlanRequest {
        scans,
        filter: ResourceFilter {
            include: vec![label.clone()],
            exclude: Vec::new(),
        },
        session_resources,
        workers: 1,
    };
    download(ctx, target, req, &args.transfer).await
}

/// `resource download --output-file`: the resource's zip archive streamed to one file.
async fn resource_zip(
    ctx: &Context,
    target: Target<'_>,
    label: &str,
    scan: Option<&str>,
    dest: &std::path::Path,
    t: &TransferArgs,
) -> Result<()> {
    let session = resolve_target(ctx, target).await?;
    let path = resource_zip_path(&session.id, scan, label)?;
    if t.dry_run {
        ctx.messages().dry_run(&format!(
            "would download {path}?format=zip to {}",
            dest.display()
        ));
        return Ok(());
    }
    let client = ctx.client().await?;
    ctx.set_cancel_aware();
    let progress = crate::cli::progress::for_transfer(ctx, 0);
    let got = tokio::select! {
        r = client.download_to_file(&path, &[("format", "zip")], dest, progress.as_ref()) => r?,
        _ = ctx.cancel_token().cancelled() => return Err(Error::Cancelled),
    };
    drop(progress);
    let file = ZipFile {
        output_file: dest.display().to_string(),
        session_id: session.id,
        resource: label.to_string(),
        scan: scan.map(str::to_string),
        bytes: got.bytes,
        md5: got.md5,
    };
    ctx.out().item(&file)?;
    ctx.messages().success(&format!(
        "Downloaded {label} ({}) to {}",
        mb(got.bytes),
        dest.display()
    ));
    Ok(())
}
