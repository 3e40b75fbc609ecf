//! In-memory sinks, so tests (and callers that capture output) can read what a [`Printer`] or
//! [`Messages`] wrote.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// A shared in-memory sink, used by tests to read what was printed.
#[derive(Debug, Clone, Default)]
pub struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// Everything written so far, as UTF-8 (lossy).
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Handles on what a buffered [`Printer`] or [`Messages`] wrote.
#[derive(Debug, Clone, Default)]
pub struct OutputBuffer {
    pub(super) out: SharedBuffer,
    pub(super) err: SharedBuffer,
}

impl OutputBuffer {
    /// What went to "stdout".
    pub fn stdout(&self) -> String {
        self.out.contents()
    }
    /// What went to "stderr".
    pub fn stderr(&self) -> String {
        self.err.contents()
    }
}

pub(super) type Sink = Box<dyn Write + Send>;
