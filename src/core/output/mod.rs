//! The one formatter: every byte of command output goes through [`Printer`] (data on stdout) or
//! [`Messages`] (status lines on stderr), so formats, colour, quiet mode and redaction behave
//! the same in every command.
//!
//! Writes return the crate's `Error` (an `Io` one for a failed write); the CLI treats
//! `BrokenPipe` on stdout as a quiet exit 0.

mod buffer;
mod controls;
mod messages;
mod model;
mod printer;
mod sections;
pub mod table;
pub mod tsv;
mod typed;

pub use buffer::{OutputBuffer, SharedBuffer};
pub use controls::ListControls;
pub use messages::Messages;
pub use model::*;
pub use printer::Printer;
pub use sections::Sectioned;
pub use typed::{listing_of, object_of, open_listing, record_of, write_error, Item, Report, Row};

/// ANSI styling helpers (only applied when colour is on).
pub(crate) mod ansi {
    pub const BOLD: &str = "\x1b[1m";
    pub const DIM: &str = "\x1b[2m";
    pub const RED: &str = "\x1b[31m";
    pub const GREEN: &str = "\x1b[32m";
    pub const YELLOW: &str = "\x1b[33m";
    const RESET: &str = "\x1b[0m";

    pub fn paint(on: bool, style: &str, text: &str) -> String {
        if on {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

#[cfg(test)]
use crate::core::error::Error;
#[cfg(test)]
use serde_json::Value;
#[cfg(test)]
use std::io::Write;

#[cfg(test)]
mod tests;
