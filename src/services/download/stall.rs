//! The no-progress check of a transfer: a body must move at least [`STALL_MIN_BYTES`] in every
//! window of `after`. A server that sends nothing trips the client's read timeout, but one that
//! drips a byte now and then never would, and would hold a worker (and the run) for ever.

use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::time::Instant;

/// Bytes a transfer must move in each window to count as making progress.
pub const STALL_MIN_BYTES: u64 = 64 * 1024;

/// Watches one body.
#[derive(Debug)]
pub struct Watchdog {
    after: Duration,
    window_end: Instant,
    window_bytes: u64,
}

impl Watchdog {
    /// Start watching now.
    pub fn new(after: Duration) -> Self {
        Watchdog {
            after,
            window_end: Instant::now() + after,
            window_bytes: 0,
        }
    }

    /// The next chunk of `body`, or `Err(message)` once a window passed with too little moved.
    pub async fn next<S, E>(
        &mut self,
        body: &mut S,
    ) -> Result<Option<Result<bytes::Bytes, E>>, String>
    where
        S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    {
        loop {
            match tokio::time::timeout_at(self.window_end, body.next()).await {
                Ok(next) => {
                    if let Some(Ok(c)) = &next {
                        self.window_bytes += c.len() as u64;
                    }
                    return Ok(next);
                }
                Err(_) if self.window_bytes >= STALL_MIN_BYTES => {
                    self.window_end += self.after;
                    self.window_bytes = 0;
                }
                Err(_) => {
                    return Err(format!(
                        "stalled: {} bytes in the last {}s",
                        self.window_bytes,
                        self.after.as_secs()
                    ))
                }
            }
        }
    }
}
