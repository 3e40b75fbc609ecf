//! xnatctl: a command-line client for XNAT, usable as a library.
//!
//! `core` holds the HTTP client and everything around it, `services` the typed XNAT operations,
//! and `cli` the command tree that turns arguments into service calls.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod cli;
pub mod core;
pub mod services;
