//! Typed XNAT operations per area, on top of `core::client`. Services validate identifiers,
//! build paths with `core::client::seg`, return serde models whose field names match the
//! reference tool's JSON output, and never print.
#![warn(missing_docs)]

pub mod anon;
pub mod audit_log;
pub mod catalogs;
pub mod commands;
pub mod containers;
pub mod custom_vars;
pub mod dicom;
pub mod docker;
pub mod doctor;
pub mod download;
pub mod events;
pub mod experiments;
pub mod extract;
pub mod manifest;
pub mod metadata;
pub mod pipelines;
pub mod poll;
pub mod prearchive;
pub mod project_transfer;
pub mod projects;
pub mod pull;
pub mod resources;
pub mod scans;
pub mod scp;
pub mod search;
pub mod sessions;
pub mod site;
pub mod subjects;
pub mod tokens;
pub mod transfer;
pub mod upgrade;
pub mod upload;
pub mod users;
pub mod verify;
pub mod xsync;
