//! What `session upload` prints: the dry-run plan, per-item results and the transfer summary.

use std::path::Path;

use serde_json::json;

use super::Mode;
use crate::cli::Context;
use crate::core::output::Record;
use crate::core::{Error, Result};
use crate::services::transfer::TransferItem;
use crate::services::upload::{self, ImportSettings, Routing};

/// One summary item: success, or failed with the error text (`cancelled` when stopped).
pub(super) fn item(name: &str, err: Option<&Error>) -> TransferItem {
    match err {
        None => TransferItem::success(name),
        Some(Error::Cancelled) => TransferItem::failed(name, "cancelled"),
        Some(e) => TransferItem::failed(name, e.to_string()),
    }
}

/// Print what an upload would do with these settings, sending nothing.
pub(super) fn dry_run(
    ctx: &Context,
    input: &Path,
    settings: &ImportSettings,
    mode: Mode,
    workers: usize,
    files: Option<&upload::FileSet>,
    plan: &upload::BatchPlan,
) -> Result<()> {
    ctx.messages()
        .dry_run("would upload with these settings; nothing was sent");
    let t = &settings.target;
    let mode_name = match mode {
        Mode::Tar => "tar",
        Mode::Zip => "zip",
        Mode::Gradual => "gradual",
    };
    let mut out = serde_json::Map::new();
    out.insert("operation".into(), json!("upload"));
    out.insert("dry_run".into(), json!(true));
    out.insert("source".into(), json!(input.display().to_string()));
    out.insert("project".into(), json!(t.project));
    out.insert("subject".into(), json!(t.subject));
    out.insert("session_id".into(), json!(t.session));
    out.insert("mode".into(), json!(mode_name));
    out.insert("workers".into(), json!(workers));
    if mode != Mode::Gradual {
        out.insert("overwrite".into(), json!(settings.overwrite.as_str()));
    }
    out.insert(
        "direct_archive".into(),
        json!(settings.routing == Routing::DirectArchive),
    );
    if let Some(set) = files {
        out.insert("files".into(), json!(set.files.len()));
        out.insert("bytes".into(), json!(set.bytes));
    }
    if !plan.batches.is_empty() {
        out.insert("batches".into(), json!(plan.batches.len()));
        let sizes: Vec<usize> = plan.batches.iter().map(Vec::len).collect();
        out.insert("files_per_batch".into(), json!(sizes));
        out.insert("leader_batch".into(), json!(plan.leader));
    }
    let mut record = Record::from_map(out);
    record.id_field = Some("session_id".into());
    ctx.out().record(&record)
}
