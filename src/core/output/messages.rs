//! [`Messages`]: status lines on stderr (success, warnings, hints, errors, dry-run notes).

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::core::error::Error;
use crate::core::redact::redact;

use super::buffer::Sink;
use super::*;

/// Status lines on stderr: success, warnings, info, errors with hints, dry-run notes. Every
/// message is redacted and stripped of control characters, and never wrapped.
#[derive(Clone)]
pub struct Messages {
    sink: Arc<Mutex<Sink>>,
    color: bool,
    quiet: bool,
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messages")
            .field("color", &self.color)
            .field("quiet", &self.quiet)
            .finish()
    }
}

impl Messages {
    /// Messages on the process's stderr. `quiet` hides success and info lines.
    pub fn new(color: bool, quiet: bool) -> Self {
        Messages {
            sink: Arc::new(Mutex::new(Box::new(std::io::stderr()))),
            color,
            quiet,
        }
    }

    /// Messages written into memory; read them with [`OutputBuffer::stderr`].
    pub fn buffer(color: bool, quiet: bool) -> (Self, OutputBuffer) {
        let handle = OutputBuffer::default();
        let m = Messages {
            sink: Arc::new(Mutex::new(Box::new(handle.err.clone()))),
            color,
            quiet,
        };
        (m, handle)
    }

    /// True when colour is on.
    pub fn color(&self) -> bool {
        self.color
    }

    fn emit(&self, prefix: &str, msg: &str) {
        let text = clean_message(&redact(msg));
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        // A closed stderr is not worth failing the command for.
        let _ = writeln!(sink, "{prefix}{text}");
        let _ = sink.flush();
    }

    /// `✓ msg` (hidden in quiet mode).
    pub fn success(&self, msg: &str) {
        if !self.quiet {
            self.emit(
                &format!("{} ", ansi::paint(self.color, ansi::GREEN, "✓")),
                msg,
            );
        }
    }

    /// `warning: msg`.
    pub fn warn(&self, msg: &str) {
        let p = ansi::paint(self.color, ansi::YELLOW, "warning:");
        self.emit(&format!("{p} "), msg);
    }

    /// A plain informational line (hidden in quiet mode).
    pub fn info(&self, msg: &str) {
        if !self.quiet {
            self.emit("", msg);
        }
    }

    /// `hint: msg`.
    pub fn hint(&self, msg: &str) {
        let p = ansi::paint(self.color, ansi::DIM, "hint:");
        self.emit(&format!("{p} "), msg);
    }

    /// `error: <message>` and, when the error has one, `hint: <hint>`.
    pub fn error(&self, err: &Error) {
        let p = ansi::paint(self.color, ansi::RED, "error:");
        self.emit(&format!("{p} "), &err.to_string());
        if let Some(h) = err.hint() {
            self.hint(&h);
        }
    }

    /// `[dry-run] msg`.
    pub fn dry_run(&self, msg: &str) {
        let p = ansi::paint(self.color, ansi::YELLOW, "[dry-run]");
        self.emit(&format!("{p} "), msg);
    }
}

/// Drop control characters (escape sequences from server text) but keep newlines and tabs.
fn clean_message(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}
