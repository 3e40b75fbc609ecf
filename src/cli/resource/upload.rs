//! `resource upload [SESSION] LABEL PATH`: a file, or a directory (zipped and extracted by the
//! server), into a resource of a session, scan, subject or project.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::cli::shared::ProjectArg;
use crate::cli::Context;
use crate::core::{Error, Result};
use crate::services::resources::{self, Scope};
use crate::services::transfer::TransferItem;
use crate::services::upload::{self, ResourceUpload};

/// Arguments of `resource upload`.
#[derive(Debug, Args)]
pub struct UploadCmd {
    /// `[SESSION] LABEL PATH`: with a session, its resource; otherwise the project's (or with -S
    /// the subject's)
    #[arg(value_name = "ARGS", num_args = 2..=3, required = true)]
    pub args: Vec<String>,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Subject (with -P, a subject resource)
    #[arg(short = 'S', long, value_name = "SUBJECT")]
    pub subject: Option<String>,
    /// Scan ID within SESSION
    #[arg(long, value_name = "SCAN_ID")]
    pub scan: Option<String>,
    /// Content tag for a new resource (e.g. T1_RAW)
    #[arg(long, value_name = "CONTENT")]
    pub content: Option<String>,
    /// Format for a new resource (e.g. NIFTI)
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Replace files the resource already has (XNAT otherwise keeps its copies)
    #[arg(long)]
    pub overwrite: bool,
    /// Do not read the server's file list back to compare it with what was sent
    #[arg(long)]
    pub no_check: bool,
}

/// Run `resource upload`.
pub async fn run(a: UploadCmd, ctx: &Context) -> Result<()> {
    let project = a.project.or_default(ctx);
    let (scope, label, path) = match a.args.as_slice() {
        [session, label, path] => {
            if a.subject.is_some() {
                return Err(Error::usage("give SESSION or -S/--subject, not both"));
            }
            let scope = Scope::Session {
                project,
                session: session.clone(),
                scan: a.scan.clone(),
            };
            (scope, label.clone(), PathBuf::from(path))
        }
        [label, path] => {
            if a.scan.is_some() {
                return Err(Error::usage("--scan needs a SESSION"));
            }
            let project = project.ok_or_else(|| {
                Error::usage("give SESSION LABEL PATH, or -P/--project (with -S for a subject)")
            })?;
            let scope = match &a.subject {
                Some(s) => Scope::Subject {
                    project,
                    subject: s.clone(),
                },
                None => Scope::Project(project),
            };
            (scope, label.clone(), PathBuf::from(path))
        }
        _ => return Err(Error::usage("expected [SESSION] LABEL PATH")),
    };
    if !path.exists() {
        return Err(Error::usage(format!(
            "PATH {} does not exist",
            path.display()
        )));
    }
    let client = ctx.client().await?;
    let started = Instant::now();
    let owner = resources::parent_path(client, &scope).await?;
    let req = ResourceUpload {
        owner,
        label: label.clone(),
        path: path.clone(),
        content: a.content,
        format: a.format,
        overwrite: a.overwrite,
        check: !a.no_check,
    };
    let source = path.display().to_string();
    let project_name = match &scope {
        Scope::Project(p) | Scope::Subject { project: p, .. } => Some(p.clone()),
        Scope::Session { project, .. } => project.clone(),
    };
    let result = upload::upload_to_resource(client, &req).await;
    let (item, files, bytes) = match &result {
        Ok(r) => (
            TransferItem::success(label.clone()).with_counts(r.files, r.files, r.bytes),
            Some(r.files),
            Some(r.bytes),
        ),
        Err(e) => (
            TransferItem::failed(label.clone(), e.to_string()),
            None,
            None,
        ),
    };
    let mut summary = upload::summary(&source, None, vec![item], files, bytes, started.elapsed());
    summary.project = project_name;
    ctx.out().report(&summary)?;
    let report = result?;
    if !report.duplicates.is_empty() {
        ctx.messages().warn(&format!(
            "already on the server with the same content: {}",
            report.duplicates.join(", ")
        ));
    }
    ctx.messages().success(&format!("Uploaded to {label}"));
    Ok(())
}
