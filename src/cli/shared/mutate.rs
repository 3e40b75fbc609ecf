//! The one path for commands that change state: confirm → preview or act → audit record.
//!
//! A declined prompt is `Error::Cancelled` (exit 7); no terminal and no `--yes` is a usage error
//! (exit 2); both are audited like any other outcome, so the log shows every attempt.

use std::future::Future;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::args::ConfirmArgs;
use crate::cli::Context;
use crate::core::audit::AuditRecord;
use crate::core::client::XnatClient;
use crate::core::Result;

/// Whether a confirmed command changes things or only shows what it would change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--dry-run`: read what is needed, change nothing.
    Preview,
    /// Confirmed: change it.
    Apply,
}

impl Mode {
    /// True when the command should change things.
    pub fn apply(self) -> bool {
        self == Mode::Apply
    }
}

/// Audit details learnt while acting (resolved ids, the scans a `*` meant): a cheap handle the
/// act closure owns, merged into the record when it is written.
#[derive(Debug, Clone, Default)]
pub struct AuditNotes(Arc<Mutex<Map<String, Value>>>);

impl AuditNotes {
    /// Record one detail.
    pub fn detail(&self, key: &str, value: Value) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), value);
    }
}

/// Ask `question` (unless `--yes`/`--dry-run`), run `act` in the chosen mode, and audit the
/// outcome with `record`.
pub async fn mutate<T, F, Fut>(
    ctx: &Context,
    question: &str,
    confirm: &ConfirmArgs,
    mut record: AuditRecord,
    act: F,
) -> Result<T>
where
    F: FnOnce(Mode, AuditNotes) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mode = match ctx.confirm(question, confirm.yes, confirm.dry_run) {
        Ok(true) => Mode::Apply,
        Ok(false) => Mode::Preview,
        Err(e) => {
            record.error = Some(e.to_string());
            ctx.audit(record);
            return Err(e);
        }
    };
    record.dry_run = mode == Mode::Preview;
    record.detail("confirmed", Value::Bool(true));
    let notes = AuditNotes::default();
    let result = act(mode, notes.clone()).await;
    let learnt = std::mem::take(&mut *notes.0.lock().unwrap_or_else(|p| p.into_inner()));
    record.details.extend(learnt);
    record.success = result.is_ok();
    record.error = result.as_ref().err().map(|e| e.to_string());
    ctx.audit(record);
    result
}

/// What [`delete_by_id`] deletes: the audit operation (`scp delete`) and the noun its messages use.
pub struct Deletion<'a> {
    /// The audited operation.
    pub operation: &'a str,
    /// `DICOM SCP receiver`, `command`, ...
    pub noun: &'a str,
    /// The object's numeric id.
    pub id: u64,
}

/// The one shape of "delete the object with this id": ask, read it (in a dry run too, so a wrong
/// id fails the same way), delete it, say so; audited through [`mutate`].
pub async fn delete_by_id<C, CF, CT, D, DF>(
    ctx: &Context,
    what: Deletion<'_>,
    confirm: &ConfirmArgs,
    check: C,
    delete: D,
) -> Result<()>
where
    C: FnOnce(XnatClient, u64) -> CF,
    CF: Future<Output = Result<CT>>,
    D: FnOnce(XnatClient, u64) -> DF,
    DF: Future<Output = Result<()>>,
{
    let Deletion {
        operation,
        noun,
        id,
    } = what;
    let mut record = AuditRecord::new(operation);
    record.detail("id", Value::from(id));
    let question = format!("Delete this {noun}?");
    mutate(ctx, &question, confirm, record, |mode, _| async move {
        let client = ctx.client().await?.clone();
        check(client.clone(), id).await?;
        if !mode.apply() {
            ctx.messages().dry_run(&format!("Would delete {noun} {id}"));
            return Ok(());
        }
        delete(client, id).await?;
        ctx.messages().success(&format!("Deleted {noun} {id}"));
        Ok(())
    })
    .await
}
