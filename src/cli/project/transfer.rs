//! `project transfer`: copy a project to another XNAT (services::project_transfer), and the
//! destination options the transfer commands share.

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use crate::cli::shared::input::{password_from_stdin, password_or_prompt, refuse_password_flag};
use crate::cli::shared::{mutate, ConfirmArgs, WorkersArg};
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::client::{ClientOptions, XnatClient};
use crate::core::config::EnvSnapshot;
use crate::core::connect::connect;
use crate::core::validation::validate_project_id;
use crate::core::{Error, Result};
use crate::services::project_transfer::{self, Endpoint, RunOptions, TransferConfig};

/// Where the copy goes: a profile, or a URL and a user whose password comes from stdin.
#[derive(Debug, Clone, Args)]
pub struct DestArgs {
    /// Destination project ID
    #[arg(long = "dest-project", value_name = "PROJECT")]
    pub dest_project: String,
    /// Destination profile from the config file (its own credentials; XNAT_* variables do not apply)
    #[arg(long, value_name = "NAME", conflicts_with = "dest_url")]
    pub dest_profile: Option<String>,
    /// Destination server URL (with --dest-user and --dest-pass-stdin)
    #[arg(long, value_name = "URL")]
    pub dest_url: Option<String>,
    /// Destination user name (with --dest-url)
    #[arg(long, value_name = "USER", requires = "dest_url")]
    pub dest_user: Option<String>,
    /// Read the destination password from the first line of stdin
    #[arg(long, requires = "dest_url")]
    pub dest_pass_stdin: bool,
    /// Refused: a password on the command line is visible to other users
    #[arg(long, hide = true, value_name = "PASSWORD")]
    pub dest_pass: Option<String>,
}

impl DestArgs {
    /// Refuse `--dest-pass VALUE` and read `--dest-pass-stdin` (before anything else, as the
    /// reference, so a later prompt cannot swallow the line).
    pub fn read_password(&self) -> Result<Option<String>> {
        refuse_password_flag(
            &self.dest_pass,
            "--dest-pass",
            "--dest-pass-stdin or --dest-profile",
        )?;
        if self.dest_pass_stdin {
            return password_from_stdin().map(Some);
        }
        Ok(None)
    }

    /// The destination's URL as given (for messages and the audit log).
    pub fn describe(&self, ctx: &Context) -> String {
        match (&self.dest_url, &self.dest_profile) {
            (Some(u), _) => u.clone(),
            (None, Some(p)) => ctx
                .config()
                .ok()
                .and_then(|c| c.get_profile(p).map(|p| p.url.clone()))
                .unwrap_or_else(|| format!("profile {p}")),
            (None, None) => String::new(),
        }
    }

    /// The authenticated destination client.
    pub async fn client(&self, ctx: &Context, password: Option<String>) -> Result<XnatClient> {
        match (&self.dest_profile, &self.dest_url) {
            (Some(name), _) => {
                // The source's XNAT_URL/XNAT_USER/XNAT_PASS/XNAT_TOKEN must not leak into the
                // destination (the reference let XNAT_USER/XNAT_PASS override the profile's).
                let env = EnvSnapshot {
                    xnatctl_config: ctx.env().xnatctl_config.clone(),
                    xdg_config_home: ctx.env().xdg_config_home.clone(),
                    home: ctx.env().home.clone(),
                    ..EnvSnapshot::default()
                };
                let p = ctx.config()?.resolve(Some(name), &env)?;
                let opts = ctx.client_options_for(&p)?;
                let warn = |m: &str| ctx.messages().warn(m);
                let (client, _) = connect(&p, opts, &ctx.auth_manager(), &warn).await?;
                Ok(client)
            }
            (None, Some(url)) => {
                crate::core::validation::validate_server_url(url)?;
                let user = self.dest_user.clone().ok_or_else(|| {
                    Error::usage("--dest-url needs --dest-user (and --dest-pass-stdin)")
                })?;
                let password = password_or_prompt(password, None, "Destination XNAT password: ")?;
                let mut opts = ClientOptions::new(url.trim_end_matches('/'));
                opts.username = Some(user);
                opts.password = Some(password);
                opts.auto_reauth = true;
                let client = XnatClient::new(opts)?;
                client.authenticate().await?;
                Ok(client)
            }
            (None, None) => Err(Error::usage(
                "Destination not specified. Use --dest-profile or --dest-url.",
            )),
        }
    }
}

/// Arguments of `project transfer`.
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Source project ID
    #[arg(short = 'P', long = "project", value_name = "PROJECT")]
    pub project: String,
    #[command(flatten)]
    pub dest: DestArgs,
    /// Transfer configuration YAML (`transfer-init` writes one; the reference's files load)
    #[arg(long, value_name = "FILE")]
    pub transfer_config: Option<PathBuf>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    #[command(flatten)]
    pub workers: WorkersArg,
}

/// Run `project transfer`.
pub async fn run(a: TransferArgs, ctx: &Context) -> Result<()> {
    let password = a.dest.read_password()?;
    let project = validate_project_id(&a.project)?;
    let dest_project = validate_project_id(&a.dest.dest_project)?;
    let mut config = match &a.transfer_config {
        Some(path) => TransferConfig::load(path, &project, &dest_project)?,
        None => TransferConfig::new(&project, &dest_project),
    };
    if let Some(w) = a.workers.workers {
        config.scan_workers = u32::from(w);
    }
    let src = ctx.client().await?.clone();
    let mut rec = AuditRecord::new("project transfer");
    rec.project = Some(project.clone());
    rec.detail("dest_project", Value::from(dest_project.clone()))
        .detail("destination", Value::from(a.dest.describe(ctx)));
    let question = "Transfer data to destination XNAT?";
    mutate(ctx, question, &a.confirm, rec, |mode, notes| async move {
        let dst = a.dest.client(ctx, password).await?;
        ctx.set_cancel_aware();
        let note = |m: &str| ctx.messages().info(m);
        let opts = RunOptions {
            config,
            dry_run: !mode.apply(),
            state_dir: ctx.config_dir(),
            cancel: ctx.cancel_token().clone(),
            note: &note,
        };
        let src = Endpoint {
            client: src,
            project,
        };
        let dst = Endpoint {
            client: dst,
            project: dest_project,
        };
        let report = project_transfer::run(&src, &dst, &opts).await?;
        if let Some(id) = report.sync_id {
            notes.detail("sync_id", Value::from(id));
        }
        ctx.out().item(&report)?;
        if report.interrupted {
            return Err(Error::Cancelled);
        }
        if !report.success {
            return Err(Error::Operation(format!(
                "the transfer finished with {} error(s); run it again to retry what failed",
                report.errors.len()
            )));
        }
        Ok(())
    })
    .await
}
