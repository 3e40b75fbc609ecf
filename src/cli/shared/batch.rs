//! The one batch runner: an operation over many ids on a bounded pool, one status vocabulary,
//! and one report (per-item rows on stdout, a closing line on stderr, exit 1 when any failed).

use std::future::Future;

use futures::StreamExt;
use serde::Serialize;

use super::mutate::Mode;
use crate::cli::Context;
use crate::core::output::{ListControls, Row};
use crate::core::{Error, Result};

/// What happened to one item of a batch (the words every batch command prints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Done.
    Success,
    /// Tried and failed (see `error`).
    Failed,
    /// Nothing to do (already in the wanted state).
    Skipped,
    /// `--dry-run`: would be done.
    DryRun,
}

/// One row of a batch report.
#[derive(Debug, Clone, Serialize)]
pub struct BatchItem {
    /// The id the item was given as.
    pub id: String,
    /// What happened.
    pub status: ItemStatus,
    /// Why it failed.
    pub error: Option<String>,
}

impl Row for BatchItem {
    const COLUMNS: &'static [(&'static str, &'static str)] =
        &[("id", "ID"), ("status", "Status"), ("error", "Error")];
    const ID: &'static str = "id";
}

/// Run `op` for every id, at most `workers` at once; outcomes come back in input order.
pub async fn run<'a, T, F, Fut>(ids: &'a [String], workers: usize, op: F) -> Vec<Result<T>>
where
    F: Fn(&'a str) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    futures::stream::iter(ids.iter().map(|id| op(id.as_str())))
        .buffered(workers.max(1))
        .collect()
        .await
}

/// How a batch's lines read.
pub struct Wording<F> {
    /// The line for one id given on its own (`Deleted subject: X`), in either mode.
    pub item: F,
    /// The closing line of a run, `{n}` standing for the count (`Deleted {n} scan(s)`).
    pub done: &'static str,
    /// The closing line of a preview (`would delete {n} scan(s)`).
    pub preview: &'static str,
}

/// Report a batch: with one id given on its own (`single`), a success line or that item's own
/// error (its exit code kept); otherwise one row per item on stdout, a line per failure and a
/// closing line on stderr, and `Error::Batch` (exit 1) when any item failed.
pub fn report<T, F: Fn(&str, &T) -> String>(
    ctx: &Context,
    ids: &[String],
    outcomes: Vec<Result<T>>,
    mode: Mode,
    single: bool,
    wording: Wording<F>,
) -> Result<()> {
    let done = &wording.item;
    if single && ids.len() == 1 {
        if let Some(outcome) = outcomes.into_iter().next() {
            let value = outcome?;
            let line = done(&ids[0], &value);
            match mode {
                Mode::Apply => ctx.messages().success(&line),
                Mode::Preview => ctx.messages().dry_run(&line),
            }
        }
        return Ok(());
    }
    let mut rows = Vec::with_capacity(ids.len());
    let mut failed = 0;
    for (id, outcome) in ids.iter().zip(outcomes) {
        let (status, error) = match outcome {
            Ok(_) if mode == Mode::Preview => (ItemStatus::DryRun, None),
            Ok(_) => (ItemStatus::Success, None),
            Err(e) => {
                failed += 1;
                ctx.messages().warn(&format!("{id}: {e}"));
                (ItemStatus::Failed, Some(e.to_string()))
            }
        };
        rows.push(BatchItem {
            id: id.clone(),
            status,
            error,
        });
    }
    ctx.out().rows(&rows, &ListControls::default())?;
    let total = ids.len();
    if failed > 0 {
        return Err(Error::Batch { failed, total });
    }
    let n = total.to_string();
    match mode {
        Mode::Apply => ctx.messages().success(&wording.done.replace("{n}", &n)),
        Mode::Preview => ctx.messages().dry_run(&wording.preview.replace("{n}", &n)),
    }
    Ok(())
}
