//! `dicom inspect` (chosen attributes of one file) and `dicom list-tags` (all of its top-level
//! elements).

use std::path::Path;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;
use serde::Serialize;

use super::read::{self, element_text, keyword_of, tag_text, ReadError};
use crate::core::output::Row;
use crate::core::{Error, Result};

/// The attributes `inspect` shows when no `--tag` is given, by group (tags a file lacks are
/// left out).
pub const DEFAULT_TAGS: [(&str, &[&str]); 6] = [
    (
        "Patient",
        &["PatientID", "PatientName", "PatientBirthDate", "PatientSex"],
    ),
    (
        "Study",
        &[
            "StudyInstanceUID",
            "StudyDate",
            "StudyTime",
            "StudyDescription",
        ],
    ),
    (
        "Series",
        &["SeriesInstanceUID", "SeriesNumber", "SeriesDescription"],
    ),
    ("Instance", &["SOPInstanceUID", "SOPClassUID", "Modality"]),
    (
        "Equipment",
        &[
            "Manufacturer",
            "ManufacturerModelName",
            "InstitutionName",
            "StationName",
        ],
    ),
    ("Other", &["AccessionNumber"]),
];

/// Private values are cut to this many characters, as the reference does.
const PRIVATE_VALUE_CHARS: usize = 100;
/// `list-tags` values are cut to this many characters, as the reference does.
const LIST_VALUE_CHARS: usize = 50;

/// One attribute shown by `inspect`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectedTag {
    /// Keyword (`PatientID`), or `GGGG,EEEE` for a private tag.
    pub keyword: String,
    /// The value; `None` when a requested keyword is absent from the file.
    pub value: Option<String>,
}

impl Row for InspectedTag {
    const COLUMNS: &'static [(&'static str, &'static str)] =
        &[("keyword", "Keyword"), ("value", "Value")];
    const ID: &'static str = "keyword";
}

/// One element listed by `list-tags`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagRow {
    /// `(GGGG,EEEE)`.
    pub tag: String,
    /// Value representation.
    pub vr: String,
    /// Standard keyword (empty for private tags).
    pub name: String,
    /// The value, cut to 50 characters.
    pub value: String,
}

impl Row for TagRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("tag", "Tag"),
        ("vr", "VR"),
        ("name", "Name"),
        ("value", "Value"),
    ];
    const ID: &'static str = "tag";
}

/// Check that every requested keyword is a standard one (a usage error names the first that
/// is not).
pub fn check_keywords(keywords: &[String]) -> Result<()> {
    for k in keywords {
        if StandardDataDictionary.by_name(k).is_none() {
            return Err(Error::Usage(format!("unknown DICOM keyword '{k}'")));
        }
    }
    Ok(())
}

fn open(path: &Path) -> Result<dicom_object::DefaultDicomObject> {
    if !path.is_file() {
        return Err(Error::InvalidPath {
            value: path.display().to_string(),
            reason: if path.exists() {
                "not a file".into()
            } else {
                "does not exist".into()
            },
        });
    }
    read::open_header(path).map_err(|e| match e {
        ReadError::NotDicom => Error::Dicom(format!("{}: not a DICOM file", path.display())),
        ReadError::Broken(m) => Error::Dicom(format!("{}: {m}", path.display())),
    })
}

/// The attributes of `path`: the named `keywords` (absent ones with no value), or the default
/// set (absent ones left out); private elements appended with `private`.
pub fn inspect(path: &Path, keywords: &[String], private: bool) -> Result<Vec<InspectedTag>> {
    check_keywords(keywords)?;
    let obj = open(path)?;
    let mut out = Vec::new();
    let value_of = |kw: &str| {
        let tag = StandardDataDictionary.by_name(kw)?.tag_range().inner();
        obj.element_opt(tag)
            .ok()
            .flatten()
            .map(|e| element_text(e, 0))
    };
    if keywords.is_empty() {
        for (_, group) in DEFAULT_TAGS {
            for kw in group {
                if let Some(value) = value_of(kw) {
                    out.push(InspectedTag {
                        keyword: (*kw).to_string(),
                        value: Some(value),
                    });
                }
            }
        }
    } else {
        for kw in keywords {
            out.push(InspectedTag {
                keyword: kw.clone(),
                value: value_of(kw),
            });
        }
    }
    if private {
        for e in obj.iter().filter(|e| e.header().tag.group() % 2 == 1) {
            let t = e.header().tag;
            out.push(InspectedTag {
                keyword: format!("{:04X},{:04X}", t.group(), t.element()),
                value: Some(element_text(e, PRIVATE_VALUE_CHARS)),
            });
        }
    }
    Ok(out)
}

/// Every top-level element of `path` before the pixel data (private ones with `private`).
pub fn list_tags(path: &Path, private: bool) -> Result<Vec<TagRow>> {
    let obj = open(path)?;
    Ok(obj
        .iter()
        .filter(|e| private || e.header().tag.group() % 2 == 0)
        .map(|e| {
            let tag = e.header().tag;
            TagRow {
                tag: tag_text(tag),
                vr: e.vr().to_string().to_string(),
                name: keyword_of(tag).to_string(),
                value: element_text(e, LIST_VALUE_CHARS),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::dicom::testing::{write_sample, Sample};

    #[test]
    fn inspect_shows_default_tags_present_and_named_tags_even_absent() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.dcm");
        write_sample(&p, &Sample::default());
        let all = inspect(&p, &[], false).unwrap();
        assert_eq!(all[0].keyword, "PatientID");
        assert!(all.iter().all(|t| t.keyword != "StationName"));
        let named = inspect(&p, &["StationName".into(), "Modality".into()], true).unwrap();
        assert_eq!(named[0].value, None);
        assert_eq!(named[1].value.as_deref(), Some("MR"));
        assert!(named.iter().any(|t| t.keyword == "0009,1001"));
    }

    #[test]
    fn unknown_keywords_are_usage_errors_and_text_files_dicom_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, b"hi").unwrap();
        assert_eq!(
            inspect(&p, &["Nope".into()], false)
                .unwrap_err()
                .exit_code(),
            2
        );
        let err = inspect(&p, &[], false).unwrap_err();
        assert!(err.to_string().contains("not a DICOM file"), "{err}");
    }

    #[test]
    fn list_tags_hides_private_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.dcm");
        write_sample(&p, &Sample::default());
        let rows = list_tags(&p, false).unwrap();
        assert!(rows.iter().all(|r| !r.tag.starts_with("(0009")));
        assert!(rows
            .iter()
            .any(|r| r.name == "PatientName" && r.value == "Smith^Jane"));
        assert!(list_tags(&p, true)
            .unwrap()
            .iter()
            .any(|r| r.tag == "(0009,1001)"));
    }
}
