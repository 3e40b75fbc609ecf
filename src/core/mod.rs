//! The library core: HTTP client, configuration, session cache, errors, validation and output.
//!
//! Nothing in here knows about clap; the CLI resolves its arguments into these types.

pub mod error;
pub mod env;
pub mod fsutil;
pub mod progress;
pub mod retry;

pub use error::{Error, Result};
