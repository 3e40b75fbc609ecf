//! The library core: HTTP client, configuration, session cache, errors, validation and output.
//!
//! Nothing in here knows about clap; the CLI resolves its arguments into these types.

pub mod error;
pub mod audit;
pub mod auth;
pub mod config;
pub mod client;
pub mod env;
pub mod fsutil;
pub mod logging;
pub mod output;
pub mod progress;
pub mod redact;
pub mod retry;
pub mod validation;

pub use error::{Error, Result};
