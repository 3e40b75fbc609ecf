//! `session upload-dicom INPUT_PATH --host H --called-aet AET`: C-STORE a directory of DICOM
//! files to a DICOM receiver (XNAT's, or any SCP). No REST call is made: routing into a project
//! is the receiver's job.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;

use crate::cli::shared::WorkersArg;
use crate::cli::Context;
use crate::core::env;
use crate::core::output::{ListControls, OutputFormat};
use crate::core::{Error, Result};
use crate::services::dicom::store::{self, Peer, StoreJob, StoreReport};
use crate::services::dicom::tls;
use crate::services::transfer::{ItemStatus, Operation, TransferItem, TransferSummary};
use crate::services::upload;

/// Arguments of `session upload-dicom`.
#[derive(Debug, Args)]
pub struct UploadDicomArgs {
    /// Directory of DICOM files (searched recursively)
    #[arg(value_name = "INPUT_PATH")]
    pub input: PathBuf,
    /// Receiver host [env: XNAT_DICOM_HOST]
    #[arg(long)]
    pub host: Option<String>,
    /// Receiver port [default: 104] [env: XNAT_DICOM_PORT]
    #[arg(long)]
    pub port: Option<u16>,
    /// Receiver AE title [env: XNAT_DICOM_CALLED_AET]
    #[arg(long)]
    pub called_aet: Option<String>,
    /// Our AE title [default: XNATCTL] [env: XNAT_DICOM_CALLING_AET]
    #[arg(long, hide = true)]
    pub calling_aet: Option<String>,
    /// Parallel associations
    #[command(flatten)]
    pub workers: WorkersArg,
    /// Use DICOM over TLS [env: XNAT_DICOM_TLS]
    #[arg(long)]
    pub tls: bool,
    /// CA bundle (PEM) to trust instead of the system store [env: XNAT_DICOM_TLS_CA_BUNDLE]
    #[arg(long, value_name = "PATH")]
    pub tls_ca_bundle: Option<PathBuf>,
    /// Client certificate chain (PEM) [env: XNAT_DICOM_TLS_CERT]
    #[arg(long, value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,
    /// Client private key (PEM; may be in the certificate file) [env: XNAT_DICOM_TLS_KEY]
    #[arg(long, value_name = "PATH")]
    pub tls_key: Option<PathBuf>,
    /// Show where the files would go and send nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// The arguments with the environment applied and checked.
struct Settings {
    peer: Peer,
    workers: usize,
    tls_files: (Option<PathBuf>, Option<PathBuf>, Option<PathBuf>),
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn ae_title(value: String, what: &str) -> Result<String> {
    let v = value.trim().to_string();
    if v.is_empty() || v.len() > 16 || v.chars().any(|c| c.is_control() || c == '\\') {
        return Err(Error::usage(format!(
            "{what} '{value}' is not an AE title (1-16 characters, no backslash)"
        )));
    }
    Ok(v)
}

fn settings(a: &UploadDicomArgs, ctx: &Context) -> Result<Settings> {
    let host = a
        .host
        .clone()
        .or_else(|| var(env::XNAT_DICOM_HOST))
        .ok_or_else(|| Error::usage("--host is required (or XNAT_DICOM_HOST)"))?;
    let called = a
        .called_aet
        .clone()
        .or_else(|| var(env::XNAT_DICOM_CALLED_AET))
        .ok_or_else(|| Error::usage("--called-aet is required (or XNAT_DICOM_CALLED_AET)"))?;
    let port = match (a.port, var(env::XNAT_DICOM_PORT)) {
        (Some(p), _) => p,
        (None, Some(v)) => v
            .trim()
            .parse()
            .map_err(|_| Error::usage(format!("{} '{v}' is not a port", env::XNAT_DICOM_PORT)))?,
        (None, None) => 104,
    };
    if port == 0 {
        return Err(Error::usage("--port must be 1-65535"));
    }
    let calling = a
        .calling_aet
        .clone()
        .or_else(|| var(env::XNAT_DICOM_CALLING_AET))
        .unwrap_or_else(|| "XNATCTL".into());
    let use_tls = a.tls || env::flag(env::XNAT_DICOM_TLS);
    let pick =
        |flag: &Option<PathBuf>, name: &str| flag.clone().or_else(|| var(name).map(PathBuf::from));
    let ca = pick(&a.tls_ca_bundle, env::XNAT_DICOM_TLS_CA_BUNDLE);
    let cert = pick(&a.tls_cert, env::XNAT_DICOM_TLS_CERT);
    let key = pick(&a.tls_key, env::XNAT_DICOM_TLS_KEY);
    if !use_tls && (ca.is_some() || cert.is_some() || key.is_some()) {
        return Err(Error::usage(
            "--tls-ca-bundle/--tls-cert/--tls-key have no effect without --tls",
        ));
    }
    if key.is_some() && cert.is_none() {
        return Err(Error::usage("--tls-key needs --tls-cert"));
    }
    for p in [&ca, &cert, &key].into_iter().flatten() {
        if !p.is_file() {
            return Err(Error::usage(format!("{} is not a file", p.display())));
        }
    }
    let tls = if use_tls {
        Some(tls::client_config(
            ca.as_deref(),
            cert.as_deref(),
            key.as_deref(),
        )?)
    } else {
        None
    };
    Ok(Settings {
        peer: Peer {
            host,
            port,
            called_aet: ae_title(called, "--called-aet")?,
            calling_aet: ae_title(calling, "--calling-aet")?,
            tls,
            timeout: Duration::from_secs(30),
        },
        workers: a.workers.resolve(ctx),
        tls_files: (ca, cert, key),
    })
}

/// Send the directory's DICOM files and report per file.
pub async fn run(a: UploadDicomArgs, ctx: &Context) -> Result<()> {
    let s = settings(&a, ctx)?;
    let source = a.input.display().to_string();
    let transport = if s.peer.tls.is_some() {
        "TLS"
    } else {
        "plaintext"
    };
    let started = Instant::now();
    let fail = |err: Error| -> Result<()> {
        if ctx.is_json() {
            let item = TransferItem::failed(s.peer_id(), err.to_string());
            let mut summary =
                TransferSummary::new(Operation::Upload, vec![item], started.elapsed());
            summary.source = Some(source.clone());
            ctx.out().value(&summary)?;
        }
        Err(err)
    };
    if !a.input.is_dir() {
        return fail(Error::InvalidInput(
            "DICOM C-STORE requires a directory of DICOM files, not an archive".into(),
        ));
    }
    if a.dry_run {
        return dry_run(ctx, &source, &s, transport);
    }
    let set = upload::find_dicom_files(&a.input)?;
    if set.files.is_empty() {
        return fail(Error::InvalidInput(format!(
            "No DICOM files found in {source}"
        )));
    }
    if !ctx.global().quiet && !ctx.is_json() {
        ctx.messages().info(&format!(
            "Sending DICOM files to {}:{} ({}) over {transport}...",
            s.peer.host, s.peer.port, s.peer.called_aet
        ));
        if s.peer.tls.is_none() {
            ctx.messages()
                .info("  Note: DICOM C-STORE is unencrypted. Use --tls if the server supports it.");
        }
    }
    if let Err(e) = store::echo(&s.peer).await {
        return fail(e);
    }
    ctx.set_cancel_aware();
    let job = StoreJob {
        peer: s.peer.clone(),
        workers: s.workers,
        cancel: ctx.cancel_token().clone(),
        progress: Arc::from(crate::cli::progress::for_transfer(ctx, set.bytes)),
    };
    let report = store::store(&set.files, job).await?;
    print(ctx, &source, &report, started.elapsed())?;
    let (failed, total) = (report.failed(), report.files.len());
    if ctx.cancel_token().is_cancelled() {
        return Err(Error::Cancelled);
    }
    if failed > 0 {
        return Err(Error::Upload(format!(
            "DICOM C-STORE completed with errors: {failed}/{total} files failed"
        )));
    }
    Ok(())
}

impl Settings {
    fn peer_id(&self) -> String {
        format!("{}:{}", self.peer.host, self.peer.port)
    }
}

fn print(ctx: &Context, source: &str, report: &StoreReport, elapsed: Duration) -> Result<()> {
    let opts = ctx.output_options().clone();
    if opts.format == OutputFormat::Json && !opts.quiet {
        let items = report
            .files
            .iter()
            .map(|f| match f.status.as_str() {
                "success" => TransferItem {
                    error: f.error.clone(),
                    ..TransferItem::success(f.file.clone())
                },
                "cancelled" => TransferItem::failed(f.file.clone(), "cancelled"),
                "skipped" => TransferItem {
                    status: ItemStatus::Skipped,
                    error: f.error.clone(),
                    ..TransferItem::success(f.file.clone())
                },
                _ => TransferItem::failed(f.file.clone(), f.error.clone().unwrap_or_default()),
            })
            .collect();
        let mut summary = TransferSummary::new(Operation::Upload, items, elapsed);
        summary.source = Some(source.to_string());
        summary.files = Some(report.sent());
        summary.bytes = Some(report.bytes());
        return ctx.out().value(&summary);
    }
    if opts.format == OutputFormat::Tsv || opts.quiet {
        return ctx.out().rows(&report.files, &ListControls::default());
    }
    let failures: Vec<_> = report
        .files
        .iter()
        .filter(|f| f.status == "failed")
        .collect();
    for f in failures.iter().take(5) {
        let why = f.error.as_deref().unwrap_or("failed");
        ctx.messages().warn(&format!("{}: {why}", f.file));
    }
    if failures.len() > 5 {
        ctx.messages()
            .warn(&format!("... and {} more failures", failures.len() - 5));
    }
    let skipped = report.skipped();
    if skipped > 0 {
        ctx.messages().info(&format!(
            "Skipped {skipped} DICOMDIR file(s): an index is not sent"
        ));
    }
    ctx.messages().success(&format!(
        "Sent {}/{} DICOM files in {:.1}s",
        report.sent(),
        report.files.len() - skipped,
        elapsed.as_secs_f64()
    ));
    Ok(())
}

fn dry_run(ctx: &Context, source: &str, s: &Settings, transport: &str) -> Result<()> {
    if ctx.is_json() {
        return ctx.out().json(&json!({
            "operation": "upload",
            "dry_run": true,
            "source": source,
            "host": s.peer.host,
            "port": s.peer.port,
            "called_aet": s.peer.called_aet,
            "calling_aet": s.peer.calling_aet,
            "workers": s.workers,
            "transport": transport.to_lowercase(),
        }));
    }
    let m = ctx.messages();
    m.dry_run("Would send DICOM files via C-STORE:");
    m.dry_run(&format!("  Source: {source}"));
    m.dry_run(&format!("  Host: {}:{}", s.peer.host, s.peer.port));
    m.dry_run(&format!("  Called AET: {}", s.peer.called_aet));
    m.dry_run(&format!("  Calling AET: {}", s.peer.calling_aet));
    m.dry_run(&format!("  Workers: {}", s.workers));
    m.dry_run(&format!("  Transport: {transport}"));
    if let (Some(ca), _, _) = &s.tls_files {
        m.dry_run(&format!("  CA bundle: {}", ca.display()));
    }
    Ok(())
}
