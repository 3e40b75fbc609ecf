//! Typed XNAT operations per area, on top of `core::client`. Services validate identifiers,
//! build paths with `core::client::seg`, return serde models whose field names match the
//! reference tool's JSON output, and never print.
pub mod experiments;
pub mod download;
pub mod extract;
pub mod verify;
pub mod resources;
pub mod scans;
pub mod sessions;
pub mod projects;
pub mod search;
pub mod subjects;
pub mod prearchive;
pub mod upload;
