//! `dicom modify`: set attributes in place, through a temporary file and a rename, with values
//! checked against their value representation before any file is touched.

use std::path::{Path, PathBuf};

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, StandardDataDictionary};
use serde::Serialize;

use super::read::{self, element_text, ReadError};
use super::{walk, write};
use crate::core::output::{Report, Row};
use crate::core::{Error, Result};

/// One requested change, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The keyword as given.
    pub keyword: String,
    /// Its tag.
    pub tag: Tag,
    /// Its VR from the dictionary.
    pub vr: VR,
    /// The new value (multiple values separated by `\`).
    pub value: String,
}

/// Parse `KEYWORD=VALUE`, refusing unknown keywords and values that do not fit the VR.
pub fn parse_assignment(text: &str) -> Result<Assignment> {
    let Some((keyword, value)) = text.split_once('=') else {
        return Err(Error::Usage(format!(
            "invalid tag assignment '{text}': expected KEYWORD=VALUE"
        )));
    };
    let keyword = keyword.trim();
    let entry = StandardDataDictionary
        .by_name(keyword)
        .ok_or_else(|| Error::Usage(format!("unknown DICOM keyword '{keyword}'")))?;
    let vr = entry.vr().relaxed();
    check_value(vr, value).map_err(|why| {
        Error::Usage(format!(
            "value '{value}' does not fit {keyword} (VR {}): {why}",
            vr.to_string()
        ))
    })?;
    Ok(Assignment {
        keyword: keyword.to_string(),
        tag: entry.tag_range().inner(),
        vr,
        value: value.to_string(),
    })
}

/// Whether `value` is a valid value (or `\`-separated values) of `vr` (PS3.5 §6.2).
pub fn check_value(vr: VR, value: &str) -> std::result::Result<(), String> {
    let max_len = |n: usize, v: &str| {
        if v.chars().count() > n {
            Err(format!("longer than {n} characters"))
        } else {
            Ok(())
        }
    };
    let digits = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    let each =
        |f: &dyn Fn(&str) -> std::result::Result<(), String>| value.split('\\').try_for_each(f);
    match vr {
        VR::SQ | VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN | VR::AT => {
            Err("binary, sequence and tag values cannot be set from text".into())
        }
        VR::LT | VR::ST | VR::UT | VR::UC | VR::UR => {
            if vr == VR::ST {
                max_len(1024, value)
            } else if vr == VR::LT {
                max_len(10240, value)
            } else {
                Ok(())
            }
        }
        VR::DA => each(&|v| {
            if v.len() == 8 && digits(v) && chrono::NaiveDate::parse_from_str(v, "%Y%m%d").is_ok() {
                Ok(())
            } else {
                Err("expected a date YYYYMMDD".into())
            }
        }),
        VR::TM => each(&|v| {
            let (hms, frac) = v.split_once('.').unwrap_or((v, "0"));
            let ok = digits(hms)
                && matches!(hms.len(), 2 | 4 | 6)
                && digits(frac)
                && frac.len() <= 6
                && hms[..2].parse::<u8>().is_ok_and(|h| h < 24)
                && (hms.len() < 4 || hms[2..4].parse::<u8>().is_ok_and(|m| m < 60))
                && (hms.len() < 6 || hms[4..6].parse::<u8>().is_ok_and(|s| s < 61));
            ok.then_some(())
                .ok_or_else(|| "expected a time HHMMSS[.FFFFFF]".into())
        }),
        VR::DT => each(&|v| {
            let core = v.split(['+', '-']).next().unwrap_or("");
            let (whole, frac) = core.split_once('.').unwrap_or((core, "0"));
            let ok = digits(whole)
                && matches!(whole.len(), 4 | 6 | 8 | 10 | 12 | 14)
                && digits(frac)
                && v.len() <= 26;
            ok.then_some(())
                .ok_or_else(|| "expected a date-time YYYYMMDDHHMMSS".into())
        }),
        VR::UI => each(&|v| {
            let ok = v.len() <= 64
                && v.split('.')
                    .all(|c| digits(c) && (c == "0" || !c.starts_with('0')));
            ok.then_some(())
                .ok_or_else(|| "expected a UID: digits and dots, at most 64 characters".into())
        }),
        VR::IS => each(&|v| {
            let t = v.trim();
            if t.len() <= 12 && t.parse::<i32>().is_ok() {
                Ok(())
            } else {
                Err("expected an integer".into())
            }
        }),
        VR::DS => each(&|v| {
            let t = v.trim();
            if t.len() <= 16 && t.parse::<f64>().is_ok_and(f64::is_finite) {
                Ok(())
            } else {
                Err("expected a decimal number of at most 16 characters".into())
            }
        }),
        VR::US => each(&|v| number::<u16>(v)),
        VR::SS => each(&|v| number::<i16>(v)),
        VR::UL => each(&|v| number::<u32>(v)),
        VR::SL => each(&|v| number::<i32>(v)),
        VR::UV => each(&|v| number::<u64>(v)),
        VR::SV => each(&|v| number::<i64>(v)),
        VR::FL => each(&|v| number::<f32>(v)),
        VR::FD => each(&|v| number::<f64>(v)),
        VR::AS => each(&|v| {
            let b = v.as_bytes();
            if b.len() == 4 && digits(&v[..3]) && matches!(b[3], b'D' | b'W' | b'M' | b'Y') {
                Ok(())
            } else {
                Err("expected an age nnnD, nnnW, nnnM or nnnY".into())
            }
        }),
        VR::CS => each(&|v| {
            max_len(16, v)?;
            if v.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'_')
            {
                Ok(())
            } else {
                Err("expected upper-case letters, digits, space or underscore".into())
            }
        }),
        VR::AE => each(&|v| max_len(16, v)),
        VR::SH => each(&|v| max_len(16, v)),
        VR::LO => each(&|v| max_len(64, v)),
        VR::PN => each(&|v| v.split('=').try_for_each(|g| max_len(64, g))),
    }
}

fn number<T: std::str::FromStr>(v: &str) -> std::result::Result<(), String> {
    v.trim()
        .parse::<T>()
        .map(|_| ())
        .map_err(|_| format!("expected a number of type {}", std::any::type_name::<T>()))
}

fn element_of(a: &Assignment) -> DataElement<dicom_object::InMemDicomObject> {
    let parts: Vec<&str> = a.value.split('\\').collect();
    let value = match a.vr {
        VR::US => PrimitiveValue::U16(
            parts
                .iter()
                .map(|p| p.trim().parse().unwrap_or(0))
                .collect(),
        ),
        VR::SS => PrimitiveValue::I16(
            parts
                .iter()
                .map(|p| p.trim().parse().unwrap_or(0))
                .collect(),
        ),
        VR::UL => PrimitiveValue::U32(
            parts
                .iter()
                .map(|p| p.trim().parse().unwrap_or(0))
                .collect(),
        ),
        VR::SL => PrimitiveValue::I32(
            parts
                .iter()
                .map(|p| p.trim().parse().unwrap_or(0))
                .collect(),
        ),
        VR::UV => PrimitiveValue::U64(
            parts
                .iter()
                .map(|p| p.trim().parse().unwrap_or(0))
                .collect(),
        ),
        VR::SV => PrimitiveValue::I64(
            parts
                .iter()
                .map(|p| p.trim().parse().unwrap_or(0))
                .collect(),
        ),
        VR::FL => PrimitiveValue::F32(
            parts
                .iter()
                .map(|p| p.trim().parse().unwrap_or(0.0))
                .collect(),
        ),
        VR::FD => PrimitiveValue::F64(
            parts
                .iter()
                .map(|p| p.trim().parse().unwrap_or(0.0))
                .collect(),
        ),
        _ if parts.len() == 1 => PrimitiveValue::from(a.value.as_str()),
        _ => PrimitiveValue::Strs(parts.iter().map(|p| p.to_string()).collect()),
    };
    DataElement::new(a.tag, a.vr, value)
}

/// One attribute's change in one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Keyword.
    pub keyword: String,
    /// The value before (`None`: absent).
    pub old: Option<String>,
    /// The value after.
    pub new: String,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModifiedFile {
    /// The file.
    pub file: String,
    /// `modified`, `would_modify` (dry run), `skipped` (not DICOM) or `failed`.
    pub status: String,
    /// The changes made (or that would be made).
    pub changes: Vec<Change>,
    /// Why it was skipped or failed.
    pub error: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModifyReport {
    /// Files changed (or that would be, in a dry run).
    pub modified: usize,
    /// Files that were not DICOM.
    pub skipped: usize,
    /// Files that could not be read or written.
    pub failed: usize,
    /// Every file, in path order.
    pub files: Vec<ModifiedFile>,
}

impl Row for ModifiedFile {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("file", "File"),
        ("status", "Status"),
        ("changes", "Changes"),
        ("error", "Error"),
    ];
    const ID: &'static str = "file";
}

impl Report for ModifyReport {
    type Row = ModifiedFile;
    fn rows(&self) -> Vec<ModifiedFile> {
        self.files.clone()
    }
}

/// How a modify run behaves.
#[derive(Debug, Clone, Default)]
pub struct ModifyOptions {
    /// Walk subdirectories.
    pub recursive: bool,
    /// Copy each file to `<file>.bak` before replacing it.
    pub backup: bool,
    /// Report the changes and write nothing.
    pub dry_run: bool,
    /// Worker threads.
    pub threads: usize,
}

/// Apply `changes` to `path` (a file or a directory's files). Backups (`*.bak`) found in a
/// directory are left alone.
pub fn modify(
    path: &Path,
    changes: &[Assignment],
    opts: &ModifyOptions,
    cancel: &(dyn Fn() -> bool + Sync),
) -> Result<ModifyReport> {
    if changes.is_empty() {
        return Err(Error::Usage("give at least one -t KEYWORD=VALUE".into()));
    }
    let single = path.is_file();
    let files: Vec<PathBuf> = walk::collect(path, opts.recursive)?
        .into_iter()
        .filter(|p| single || p.extension().is_none_or(|e| e != "bak"))
        .collect();
    let results = walk::par_map(&files, opts.threads, |f| {
        if cancel() {
            return None;
        }
        Some(modify_file(f, changes, opts))
    });
    if results.iter().any(Option::is_none) {
        return Err(Error::Cancelled);
    }
    let files: Vec<ModifiedFile> = results.into_iter().flatten().collect();
    let count = |s: &str| files.iter().filter(|f| f.status == s).count();
    Ok(ModifyReport {
        modified: count("modified") + count("would_modify"),
        skipped: count("skipped"),
        failed: count("failed"),
        files,
    })
}

fn modify_file(path: &Path, changes: &[Assignment], opts: &ModifyOptions) -> ModifiedFile {
    let file = path.display().to_string();
    let fail = |status: &str, error: String| ModifiedFile {
        file: file.clone(),
        status: status.into(),
        changes: vec![],
        error: Some(error),
    };
    // Unless a change is to the pixel data or after it, the pixel data is not parsed: it is
    // copied into the new file as bytes.
    let opened = if changes.iter().all(|a| a.tag < tags::PIXEL_DATA) {
        read::open_for_rewrite(path)
    } else {
        read::open_full(path).map(|o| (o, None))
    };
    let (mut obj, tail) = match opened {
        Ok(o) => o,
        Err(ReadError::NotDicom) => return fail("skipped", ReadError::NotDicom.message()),
        Err(e) => return fail("failed", e.message()),
    };
    if read::is_dicomdir(&obj) {
        return fail(
            "skipped",
            "a DICOMDIR is not modified (its record offsets would break)".into(),
        );
    }
    let mut done = Vec::new();
    for a in changes {
        let old = obj
            .element_opt(a.tag)
            .ok()
            .flatten()
            .map(|e| element_text(e, 0));
        obj.put(element_of(a));
        done.push(Change {
            keyword: a.keyword.clone(),
            old,
            new: a.value.clone(),
        });
    }
    if opts.dry_run {
        return ModifiedFile {
            file,
            status: "would_modify".into(),
            changes: done,
            error: None,
        };
    }
    if opts.backup {
        let mut bak = path.as_os_str().to_owned();
        bak.push(".bak");
        if let Err(e) = write::copy_atomic(path, Path::new(&bak)) {
            return fail("failed", e);
        }
    }
    let written = match &tail {
        Some(t) => write::write_object_with_tail_atomic(&obj, t, path, Some(path)),
        None => write::write_object_atomic(&obj, path, Some(path)),
    };
    match written {
        Ok(()) => ModifiedFile {
            file,
            status: "modified".into(),
            changes: done,
            error: None,
        },
        Err(e) => fail("failed", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::dicom::testing::{write_sample, Sample};

    #[test]
    fn values_that_do_not_fit_their_vr_are_refused() {
        assert!(parse_assignment("StudyDate=2024-01-02").is_err());
        assert!(parse_assignment("StudyDate=20240230").is_err());
        assert!(parse_assignment("StudyDate=20240102").is_ok());
        assert!(parse_assignment("SeriesNumber=abc").is_err());
        assert!(parse_assignment("Rows=70000").is_err());
        assert!(parse_assignment("Modality=mr").is_err());
        assert!(parse_assignment("StudyInstanceUID=1.2.03").is_err());
        assert!(parse_assignment("PixelData=00").is_err());
        let e = parse_assignment("NoSuchKeyword=1").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(parse_assignment("PatientName").is_err());
        assert!(parse_assignment("PatientName=").is_ok());
    }

    #[test]
    fn modify_rewrites_in_place_with_backup_and_reports_old_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.dcm");
        write_sample(&p, &Sample::default());
        std::fs::write(dir.path().join("b.txt"), b"x").unwrap();
        let before = std::fs::read(&p).unwrap();
        let changes = vec![parse_assignment("PatientID=NEW").unwrap()];
        let opts = ModifyOptions {
            backup: true,
            threads: 2,
            ..Default::default()
        };
        let r = modify(dir.path(), &changes, &opts, &|| false).unwrap();
        assert_eq!((r.modified, r.skipped, r.failed), (1, 1, 0));
        assert_eq!(r.files[0].changes[0].old.as_deref(), Some("PAT001"));
        assert_eq!(std::fs::read(dir.path().join("a.dcm.bak")).unwrap(), before);
        // The pixel data element (last, 12 + 8 bytes) was copied as it was.
        let after = std::fs::read(&p).unwrap();
        assert_eq!(after[after.len() - 20..], before[before.len() - 20..]);
        let obj = read::open_full(&p).unwrap();
        assert_eq!(
            read::string_of(&obj, dicom_dictionary_std::tags::PATIENT_ID).as_deref(),
            Some("NEW")
        );
        // A second run leaves the backup alone and writes no temporary files.
        modify(dir.path(), &changes, &opts, &|| false).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }

    #[test]
    fn dry_run_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.dcm");
        write_sample(&p, &Sample::default());
        let before = std::fs::read(&p).unwrap();
        let changes = vec![parse_assignment("Modality=CT").unwrap()];
        let opts = ModifyOptions {
            dry_run: true,
            ..Default::default()
        };
        let r = modify(&p, &changes, &opts, &|| false).unwrap();
        assert_eq!(r.files[0].status, "would_modify");
        assert_eq!(std::fs::read(&p).unwrap(), before);
    }
}
