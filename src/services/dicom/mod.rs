//! Local DICOM tools: validate, inspect, list tags, modify and anonymize files, and the
//! C-STORE sender behind `session upload-dicom`.
//!
//! Pure functions over paths: no printing, no clap. Every result is a typed, serialisable row;
//! a file that is not DICOM is reported (and counted) per file, never fatal to a run. Files are
//! only ever written through a temporary name in the target directory and a rename, so a failed
//! or interrupted run leaves either the old file or the complete new one.

pub mod anonymize;
pub mod inspect;
pub mod modify;
mod profile;
mod read;
pub mod validate;
pub mod walk;
mod write;

#[cfg(test)]
pub(crate) mod testing;

pub use read::{element_text, keyword_of, tag_text};
