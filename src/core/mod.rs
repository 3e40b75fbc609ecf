//! The library core: HTTP client, configuration, session cache, errors, validation and output.
//!
//! Nothing in here knows about clap; the CLI resolves its arguments into these types.
#![warn(missing_docs)]

pub mod audit;
pub mod auth;
pub mod client;
pub mod config;
pub mod connect;
pub mod env;
pub mod error;
pub mod fsutil;
pub mod logging;
pub mod output;
pub mod progress;
pub mod redact;
pub mod retry;
pub mod tokens;
pub mod validation;

pub use error::{Error, Result};
