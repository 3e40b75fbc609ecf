//! `session upload INPUT`: an archive file, a directory of DICOM (parallel tar/zip batches), or
//! file by file (`--mode gradual`) through XNAT's import service.
//!
//! [`args`] holds the flags, [`settings`] turns flags and profile into import settings, and
//! [`report`] prints the dry-run plan and the transfer summary.

mod args;
mod report;
mod settings;

pub use args::{Mode, OverwriteArg, UploadArgs};
pub(super) use settings::resolve_common;

use std::sync::Arc;
use std::time::Instant;

use crate::cli::Context;
use crate::core::progress::Progress;
use crate::core::{Error, Result};
use crate::services::transfer::TransferItem;
use crate::services::upload::{self, ArchiveFormat, ImportSettings, Overwrite, Routing};
use report::{dry_run, item};
use settings::{parse_profile_mode, parse_profile_overwrite};

/// Run `session upload`.
pub async fn run(a: UploadArgs, ctx: &Context) -> Result<()> {
    crate::cli::shared::refuse_password(&a.password)?;
    if !a.input.exists() {
        return Err(Error::usage(format!(
            "INPUT_PATH {} does not exist",
            a.input.display()
        )));
    }
    let (target, routing, workers) = resolve_common(
        ctx,
        a.project.as_deref(),
        &a.subject,
        &a.session,
        a.workers,
        a.direct_archive,
        a.prearchive,
    )?;
    let profile = ctx.profile().ok();
    let mode = match a.mode {
        Some(m) => m,
        None => parse_profile_mode(profile.and_then(|p| p.archive_mode.as_deref()))?,
    };
    let overwrite = match a.overwrite {
        Some(OverwriteArg::None) => Overwrite::None,
        Some(OverwriteArg::Append) => Overwrite::Append,
        Some(OverwriteArg::Delete) => Overwrite::Delete,
        None => parse_profile_overwrite(profile.and_then(|p| p.overwrite.as_deref()))?,
    };
    let settings = ImportSettings {
        target,
        overwrite,
        routing,
        ignore_unparsable: !a.no_ignore_unparsable,
    };
    let source = a.input.display().to_string();
    let is_dir = a.input.is_dir();

    // Local checks first: an empty directory never reaches the network.
    let files = if is_dir {
        let set = upload::find_dicom_files(&a.input)?;
        if set.files.is_empty() {
            return Err(Error::Upload(format!(
                "no DICOM files found in {} (looked for .dcm/.ima/.img/.dicom files and files with a DICM header)",
                a.input.display()
            )));
        }
        Some(set)
    } else if mode == Mode::Gradual {
        return Err(Error::Upload(
            "gradual-DICOM needs a directory of DICOM files".into(),
        ));
    } else {
        None
    };
    // XNAT's import refuses several studies in one upload (and strands them in the
    // prearchive) and keeps one file per SOP Instance UID: say so before sending anything.
    let precheck = files
        .as_ref()
        .map(|set| upload::check::inspect_dicom_dir(&a.input, &set.files));
    if let Some(problems) = precheck.as_ref().map(|c| c.problems()) {
        for p in &problems {
            ctx.messages().warn(p);
        }
        if !problems.is_empty() && !a.yes && !a.dry_run {
            return Err(Error::Upload(format!(
                "{} refused before sending anything ({}); pass --yes to upload anyway",
                a.input.display(),
                problems.len()
            )));
        }
    }
    let plan = match (&files, mode) {
        (Some(set), Mode::Tar | Mode::Zip) => upload::plan_batches(&set.files, workers, overwrite),
        _ => upload::BatchPlan::default(),
    };

    if a.dry_run {
        return dry_run(
            ctx,
            &a.input,
            &settings,
            mode,
            workers,
            files.as_ref(),
            &plan,
        );
    }

    ctx.set_cancel_aware();
    let client = ctx.client().await?;
    if routing == Routing::DirectArchive {
        upload::check_direct_archive(client).await?;
    }
    let cancel = ctx.cancel_token().clone();
    let started = Instant::now();
    let t = &settings.target;

    match (files, mode) {
        (None, _) => {
            let name = a
                .input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| source.clone());
            let size = std::fs::metadata(&a.input).map(|m| m.len()).unwrap_or(0);
            let r = upload::upload_archive_file(client, &settings, &a.input, &cancel).await;
            let (item, files, bytes) = match &r {
                Ok(_) => (
                    item(&name, None).with_counts(1, 1, size),
                    Some(1),
                    Some(size),
                ),
                Err(e) => (item(&name, Some(e)), None, None),
            };
            let summary = upload::summary(
                &source,
                Some(t),
                vec![item],
                files,
                bytes,
                started.elapsed(),
            );
            ctx.out().report(&summary)?;
            r?;
            ctx.messages().success(&format!("Uploaded {name}"));
            Ok(())
        }
        (Some(set), Mode::Gradual) => {
            let r =
                upload::upload_gradual(client, &settings, &a.input, set.files, workers, &cancel)
                    .await;
            let error = r
                .aborted
                .clone()
                .or_else(|| r.failed.first().map(|(p, e)| format!("{p}: {e}")));
            let it = match error {
                _ if r.cancelled => TransferItem::failed("gradual-dicom", "cancelled"),
                Some(e) => TransferItem::failed("gradual-dicom", e),
                None => TransferItem::success("gradual-dicom").with_counts(
                    r.succeeded,
                    r.succeeded,
                    r.bytes,
                ),
            };
            let summary = upload::summary(
                &source,
                Some(t),
                vec![it],
                Some(r.succeeded),
                Some(r.bytes),
                started.elapsed(),
            );
            ctx.out().report(&summary)?;
            for (p, e) in r.failed.iter().take(5) {
                ctx.messages().warn(&format!("{p}: {e}"));
            }
            if r.cancelled {
                return Err(Error::Cancelled);
            }
            if let Some(msg) = r.aborted {
                return Err(Error::Upload(msg));
            }
            if !r.failed.is_empty() {
                return Err(Error::Batch {
                    failed: r.failed.len(),
                    total: r.total,
                });
            }
            check_archived(client, &a, &settings, precheck.as_ref()).await?;
            ctx.messages()
                .success(&format!("Uploaded {} files via gradual-DICOM", r.succeeded));
            Ok(())
        }
        (Some(set), _) => {
            let format = if mode == Mode::Zip {
                ArchiveFormat::Zip
            } else {
                ArchiveFormat::Tar
            };
            let progress: Arc<dyn Progress> =
                Arc::from(crate::cli::progress::for_transfer(ctx, set.bytes));
            let outcomes = upload::upload_directory(
                client, &settings, &a.input, plan, format, workers, progress, &cancel,
            )
            .await?;
            let mut files = 0;
            let mut bytes = 0;
            let mut items = Vec::new();
            for o in &outcomes {
                if o.error.is_none() {
                    files += o.files;
                    bytes += o.bytes;
                }
                let id = format!("batch-{}", o.number);
                items.push(match &o.error {
                    _ if o.cancelled => TransferItem::failed(id, "cancelled"),
                    Some(e) => TransferItem::failed(id, e.clone()),
                    None => TransferItem::success(id).with_counts(o.files, o.files, o.bytes),
                });
            }
            let summary = upload::summary(
                &source,
                Some(t),
                items,
                Some(files),
                Some(bytes),
                started.elapsed(),
            );
            ctx.out().report(&summary)?;
            let failed: Vec<_> = outcomes.iter().filter(|o| o.error.is_some()).collect();
            for o in failed.iter().filter(|o| !o.cancelled).take(5) {
                ctx.messages().warn(&format!(
                    "batch {} ({} files): {}",
                    o.number,
                    o.files,
                    o.error.as_deref().unwrap_or("")
                ));
            }
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            if !failed.is_empty() {
                return Err(Error::Batch {
                    failed: failed.len(),
                    total: outcomes.len(),
                });
            }
            check_archived(client, &a, &settings, precheck.as_ref()).await?;
            ctx.messages().success(&format!(
                "Uploaded {files} files ({:.1} MB) in {:.1}s",
                bytes as f64 / 1_000_000.0,
                started.elapsed().as_secs_f64()
            ));
            Ok(())
        }
    }
}

/// After a directory went into the archive: the session must hold every distinct instance
/// sent (`--no-check` skips this; prearchive uploads are not archived yet).
async fn check_archived(
    client: &crate::core::client::XnatClient,
    a: &UploadArgs,
    settings: &ImportSettings,
    precheck: Option<&upload::check::DicomDirCheck>,
) -> Result<()> {
    let Some(pre) = precheck else { return Ok(()) };
    if a.no_check || settings.routing != Routing::DirectArchive || pre.instances == 0 {
        return Ok(());
    }
    let t = &settings.target;
    let on_server = upload::check::archived_dicom_files(client, &t.project, &t.session).await?;
    let replaced = settings.overwrite == Overwrite::Delete;
    match upload::check::instances_problem(pre.instances, on_server, replaced) {
        Some(p) => Err(Error::Upload(p)),
        None => {
            tracing::info!(on_server, sent = pre.instances, "archived session checked");
            Ok(())
        }
    }
}
