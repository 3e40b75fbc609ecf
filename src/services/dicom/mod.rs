//! Local DICOM tools: validate, inspect, list tags, modify and anonymize files, and the
//! C-STORE sender behind `session upload-dicom`.
//!
//! Pure functions over paths: no printing, no clap. Every result is a typed, serialisable row;
//! a file that is not DICOM is reported (and counted) per file, never fatal to a run. Files are
//! only ever written through a temporary name in the target directory and a rename, so a failed
//! or interrupted run leaves either the old file or the complete new one.

pub mod anonymize;
mod dimse;
pub mod inspect;
mod layout;
pub mod modify;
mod profile;
mod read;
pub mod store;
pub mod tls;
pub mod validate;
pub mod walk;
mod write;

#[cfg(test)]
pub(crate) mod testing;

pub use read::{element_text, keyword_of, tag_text};

/// StudyInstanceUID and SOPInstanceUID of a DICOM file (header only), or `None` when it is not
/// readable DICOM or lacks either (the upload checks in `services::upload::check`).
pub fn study_and_instance(path: &std::path::Path) -> Option<(String, String)> {
    use dicom_dictionary_std::tags;
    let obj = read::open_header(path).ok()?;
    let text = |tag| -> Option<String> {
        let v = obj.element(tag).ok()?.to_str().ok()?;
        let v = v.trim_end_matches(['\0', ' ']).to_string();
        (!v.is_empty()).then_some(v)
    };
    Some((
        text(tags::STUDY_INSTANCE_UID)?,
        text(tags::SOP_INSTANCE_UID)?,
    ))
}
