//! `dicom validate`: the attributes XNAT needs to file a session, checked per file.

use std::path::Path;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use serde::Serialize;

use super::read::{self, ReadError};
use super::walk;
use crate::core::output::{Report, Row};
use crate::core::Result;

/// Attributes whose absence (or empty value) makes a file invalid, as the reference checks.
const REQUIRED: [(Tag, &str); 6] = [
    (tags::PATIENT_ID, "PatientID"),
    (tags::PATIENT_NAME, "PatientName"),
    (tags::STUDY_INSTANCE_UID, "StudyInstanceUID"),
    (tags::SERIES_INSTANCE_UID, "SeriesInstanceUID"),
    (tags::SOP_INSTANCE_UID, "SOPInstanceUID"),
    (tags::MODALITY, "Modality"),
];

/// More private tags than this earn a warning.
const PRIVATE_TAG_WARNING: usize = 100;

/// One file's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileValidation {
    /// The file as found.
    pub file: String,
    /// No errors.
    pub valid: bool,
    /// What makes it invalid.
    pub errors: Vec<String>,
    /// What is odd but acceptable.
    pub warnings: Vec<String>,
    /// PatientID, if any.
    pub patient_id: Option<String>,
    /// PatientName, if any.
    pub patient_name: Option<String>,
    /// Modality, if any.
    pub modality: Option<String>,
}

impl Row for FileValidation {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("file", "File"),
        ("valid", "Valid"),
        ("errors", "Errors"),
        ("warnings", "Warnings"),
        ("patient_id", "Patient ID"),
        ("patient_name", "Patient Name"),
        ("modality", "Modality"),
    ];
    const ID: &'static str = "file";
}

impl Report for ValidationReport {
    type Row = FileValidation;
    fn rows(&self) -> Vec<FileValidation> {
        self.files.clone()
    }
}

/// A file that was not DICOM and was skipped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedFile {
    /// The file as found.
    pub file: String,
    /// Why it was skipped.
    pub reason: String,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationReport {
    /// Files without errors.
    pub valid_count: usize,
    /// DICOM files with errors (including unreadable ones).
    pub invalid_count: usize,
    /// Files that are not DICOM.
    pub skipped_count: usize,
    /// Every DICOM file's verdict, in path order.
    pub files: Vec<FileValidation>,
    /// The files that were not DICOM.
    pub skipped: Vec<SkippedFile>,
}

/// Validate `path` (a file, or the files of a directory; subdirectories with `recursive`).
pub fn validate(path: &Path, recursive: bool, threads: usize) -> Result<ValidationReport> {
    let files = walk::collect(path, recursive)?;
    let results = walk::par_map(&files, threads, |f| validate_file(f.as_path()));
    let mut report = ValidationReport {
        valid_count: 0,
        invalid_count: 0,
        skipped_count: 0,
        files: Vec::new(),
        skipped: Vec::new(),
    };
    for r in results {
        match r {
            Ok(v) => {
                if v.valid {
                    report.valid_count += 1;
                } else {
                    report.invalid_count += 1;
                }
                report.files.push(v);
            }
            Err(s) => {
                report.skipped_count += 1;
                report.skipped.push(s);
            }
        }
    }
    Ok(report)
}

fn validate_file(path: &Path) -> std::result::Result<FileValidation, SkippedFile> {
    let file = path.display().to_string();
    let obj = match read::open_header(path) {
        Ok(o) => o,
        Err(ReadError::NotDicom) => {
            return Err(SkippedFile {
                file,
                reason: ReadError::NotDicom.message(),
            })
        }
        Err(e) => {
            return Ok(FileValidation {
                file,
                valid: false,
                errors: vec![e.message()],
                warnings: vec![],
                patient_id: None,
                patient_name: None,
                modality: None,
            })
        }
    };
    if read::is_dicomdir(&obj) {
        return Err(SkippedFile {
            file,
            reason: "a DICOMDIR (an index of the files on a medium, not an instance)".into(),
        });
    }
    let mut errors = Vec::new();
    for (tag, name) in REQUIRED {
        if read::string_of(&obj, tag).is_none() {
            errors.push(format!("Missing required tag: {name}"));
        }
    }
    let private = obj
        .iter()
        .filter(|e| e.header().tag.group() % 2 == 1)
        .count();
    let mut warnings = Vec::new();
    if private > PRIVATE_TAG_WARNING {
        warnings.push(format!("Large number of private tags: {private}"));
    }
    Ok(FileValidation {
        file,
        valid: errors.is_empty(),
        errors,
        warnings,
        patient_id: read::string_of(&obj, tags::PATIENT_ID),
        patient_name: read::string_of(&obj, tags::PATIENT_NAME),
        modality: read::string_of(&obj, tags::MODALITY),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::dicom::testing::{write_sample, Sample};

    #[test]
    fn a_complete_file_is_valid_and_a_text_file_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        write_sample(&dir.path().join("a.dcm"), &Sample::default());
        std::fs::write(dir.path().join("notes.txt"), b"not dicom").unwrap();
        let r = validate(dir.path(), false, 2).unwrap();
        assert_eq!((r.valid_count, r.invalid_count, r.skipped_count), (1, 0, 1));
        assert_eq!(r.files[0].patient_id.as_deref(), Some("PAT001"));
        assert_eq!(r.skipped[0].reason, "not a DICOM file");
    }

    #[test]
    fn a_missing_modality_and_a_truncated_file_are_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sample {
            modality: None,
            ..Sample::default()
        };
        write_sample(&dir.path().join("a.dcm"), &s);
        write_sample(&dir.path().join("b.dcm"), &Sample::default());
        let bytes = std::fs::read(dir.path().join("b.dcm")).unwrap();
        std::fs::write(dir.path().join("b.dcm"), &bytes[..200]).unwrap();
        let r = validate(dir.path(), false, 1).unwrap();
        assert_eq!(r.invalid_count, 2);
        assert_eq!(r.files[0].errors, vec!["Missing required tag: Modality"]);
        assert!(!r.files[1].errors.is_empty());
    }
}
