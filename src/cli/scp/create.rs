//! `xnatctl scp create --ae-title T --port N [--identifier K]`: AE title and port checked before
//! any request (exit 2), then the identifier resolved and the port checked against the other
//! receivers (exit 1 when taken), then `POST /xapi/dicomscp`.

use clap::Args;
use serde_json::Value;

use crate::cli::shared::args::ConfirmArgs;
use crate::cli::shared::mutate::mutate;
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::Result;
use crate::services::scp;

/// Arguments of `scp create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// AE title the receiver answers to (1-16 printable ASCII characters, no backslash)
    #[arg(long, value_name = "AE")]
    pub ae_title: String,
    /// TCP port (1-65535; must not be used by another receiver)
    #[arg(long, value_name = "PORT", allow_negative_numbers = true)]
    pub port: i64,
    /// DICOM object identifier bean (default: the server's only one)
    #[arg(long, value_name = "ID")]
    pub identifier: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run `scp create`.
pub async fn run(a: CreateArgs, ctx: &Context) -> Result<()> {
    let ae = scp::validate_ae_title(&a.ae_title)?;
    let port = scp::validate_port(a.port)?;
    let mut rec = AuditRecord::new("scp create");
    rec.detail("ae_title", Value::from(ae.clone()))
        .detail("port", Value::from(port))
        .detail("identifier", Value::from(a.identifier.clone()));
    let question = "Create this DICOM SCP receiver?";
    let identifier = a.identifier.clone();
    mutate(ctx, question, &a.confirm, rec, |mode, notes| async move {
        let client = ctx.client().await?;
        let plan = scp::plan_create(client, &ae, port, identifier.as_deref()).await?;
        if !mode.apply() {
            ctx.messages().dry_run(&format!(
                "Would create DICOM SCP receiver aeTitle='{}' port={} identifier='{}'",
                plan.ae_title, plan.port, plan.identifier
            ));
            return Ok(());
        }
        let created = scp::create(client, &plan).await?;
        notes.detail("id", Value::from(created.id()));
        ctx.messages().success(&format!(
            "Created DICOM SCP receiver {} ({}:{})",
            created.id(),
            plan.ae_title,
            plan.port
        ));
        ctx.out().item(&created)
    })
    .await
}
