//! `xnatctl anon set FILE|- [-P P]`: replace a script; `--dry-run` shows the unified diff.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use crate::cli::shared::args::ConfirmArgs;
use crate::cli::shared::mutate::mutate;
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::{Error, Result};
use crate::services::anon::{self, Scope};

/// Arguments of `anon set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// The DicomEdit script file, or - to read it from stdin (needs --yes or --dry-run)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Replace this project's override script (default: the site-wide script)
    #[arg(short = 'P', long = "project", value_name = "PROJECT")]
    pub project: Option<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// The script text and how messages name its source; all checks happen before any request.
fn read_source(a: &SetArgs) -> Result<(String, String)> {
    if a.file.as_os_str() == "-" {
        if std::io::stdin().is_terminal() {
            return Err(Error::usage(
                "FILE - reads the script from stdin, but stdin is a terminal",
            ));
        }
        if !a.confirm.unattended() {
            return Err(Error::usage(
                "FILE - requires --yes or --dry-run (stdin is consumed by the script)",
            ));
        }
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("reading the script from stdin", e))?;
        let src = "<stdin>".to_string();
        return Ok((anon::read_script_text(bytes, &src)?, src));
    }
    let src = a.file.display().to_string();
    let bytes = std::fs::read(&a.file)
        .map_err(|e| Error::InvalidInput(format!("cannot read {src}: {e}")))?;
    Ok((anon::read_script_text(bytes, &src)?, src))
}

/// Run `anon set`.
pub async fn run(a: SetArgs, ctx: &Context) -> Result<()> {
    let scope = Scope::of(a.project.as_deref())?;
    let (script, src) = read_source(&a)?;
    let mut rec = AuditRecord::new("anon set");
    rec.project = scope.project().map(str::to_string);
    rec.detail("file", Value::from(src.clone()))
        .detail("bytes", Value::from(script.len()));
    let question = "Replace this anonymization script?";
    mutate(ctx, question, &a.confirm, rec, |mode, _| async move {
        let client = ctx.client().await?;
        let label = scope.label();
        let current = anon::current_script(client, &scope).await?;
        if !mode.apply() {
            ctx.messages().dry_run(&format!(
                "Would replace the {label} anonymization script from {src}:"
            ));
            let mut diff = anon::script_diff(&label, &current, &script);
            if !diff.ends_with('\n') {
                diff.push('\n');
            }
            return ctx.out().raw(&diff);
        }
        anon::set_script(client, &scope, &script).await?;
        ctx.messages().success(&format!(
            "Replaced the {label} anonymization script from {src}"
        ));
        Ok(())
    })
    .await
}
