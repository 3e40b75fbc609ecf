//! How long-running transfers report progress without knowing how it is shown.
//!
//! The core and the services call a [`Progress`]; only the CLI decides whether that becomes an
//! indicatif bar, a log line or nothing (non-terminal stderr, `--quiet`, json output).

/// Receives progress events for one or more transfers.
///
/// Implementations must be cheap and thread-safe: parallel workers call them concurrently.
pub trait Progress: Send + Sync {
    /// A transfer named `label` starts; `total` is its size in bytes when known.
    fn begin(&self, label: &str, total: Option<u64>);
    /// `bytes` more bytes were transferred.
    fn advance(&self, bytes: u64);
    /// The transfer named `label` ended (successfully or not).
    fn finish(&self, label: &str);
}

/// A [`Progress`] that ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _label: &str, _total: Option<u64>) {}
    fn advance(&self, _bytes: u64) {}
    fn finish(&self, _label: &str) {}
}
