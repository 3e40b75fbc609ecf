//! `dicom anonymize`: de-identified copies of DICOM files.
//!
//! The default is the PS3.15 Annex E Basic Application Level Confidentiality Profile (see
//! `profile.rs`), applied at every nesting depth, with UIDs replaced consistently through a
//! [`UidMap`] (optionally kept in a file across runs), private elements removed unless kept,
//! and the method recorded (PatientIdentityRemoved, DeidentificationMethod and its code
//! sequence) as PS3.15 E.1.1 asks. `Profile::Reference` reproduces the Python tool's seven
//! deletions for whoever depends on them. Inputs are only read; each output goes through a
//! temporary name and a rename.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde::Serialize;

use super::profile::{self, Action};
use super::read::{self, ReadError};
use super::{walk, write};
use crate::core::output::{Report, Row};
use crate::core::{Error, Result};

/// The placeholder PatientName and PatientID get when none is given.
pub const PLACEHOLDER: &str = "ANONYMIZED";

/// Why a DICOMDIR is not copied: its records point at byte offsets that a rewrite moves, and the
/// names and IDs in them would need the same replacements as the instances.
pub(crate) const DICOMDIR_SKIPPED: &str = "a DICOMDIR is not rewritten (its record offsets would \
     break); make a new one from the output, e.g. with dcmmkdir";

/// Which rules to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// PS3.15 Annex E basic profile.
    #[default]
    Basic,
    /// The Python tool's behaviour: delete seven attributes, keep names, IDs and UIDs.
    Reference,
}

/// How an anonymize run behaves.
#[derive(Debug, Clone, Default)]
pub struct AnonymizeOptions {
    /// Which rules.
    pub profile: Profile,
    /// New PatientID (basic: default [`PLACEHOLDER`]; reference: unchanged unless given).
    pub patient_id: Option<String>,
    /// New PatientName (as for `patient_id`).
    pub patient_name: Option<String>,
    /// Keep private elements (basic profile; they are removed by default).
    pub keep_private: bool,
    /// Remove private elements (reference profile; kept by default there).
    pub remove_private: bool,
    /// Retain Longitudinal Temporal Information with Full Dates Option: keep dates and times.
    pub retain_dates: bool,
    /// Retain UIDs Option: keep every UID.
    pub retain_uids: bool,
    /// Walk subdirectories.
    pub recursive: bool,
    /// Report what would be written and write nothing.
    pub dry_run: bool,
    /// Worker threads.
    pub threads: usize,
}

/// Original UID → replacement, shared by every file of a run (and across runs via a file).
#[derive(Debug, Default)]
pub struct UidMap {
    map: Mutex<HashMap<String, String>>,
}

impl UidMap {
    /// An empty map.
    pub fn new() -> Self {
        UidMap::default()
    }

    /// The map stored in `path` (a JSON object of strings); empty when the file does not
    /// exist yet.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(UidMap::new()),
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        let map: HashMap<String, String> = serde_json::from_str(&text).map_err(|e| {
            Error::InvalidInput(format!(
                "{} is not a UID map (a JSON object of UID strings): {e}",
                path.display()
            ))
        })?;
        Ok(UidMap {
            map: Mutex::new(map),
        })
    }

    /// Write the map to `path` atomically (sorted, so reruns diff cleanly).
    pub fn save(&self, path: &Path) -> Result<()> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let sorted: std::collections::BTreeMap<_, _> = map.iter().collect();
        let text =
            serde_json::to_string_pretty(&sorted).map_err(|e| Error::Dicom(e.to_string()))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        tmp.persist(path)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e.error))?;
        Ok(())
    }

    /// How many UIDs are mapped.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no UID is mapped.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The replacement of `uid`, made up (`2.25.<random 128-bit>`, PS3.5 B.2) on first sight.
    pub fn replace(&self, uid: &str) -> String {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(uid.to_string())
            .or_insert_with(|| format!("2.25.{}", rand::random::<u128>()))
            .clone()
    }
}

/// What happened to one input file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnonymizedFile {
    /// The input file.
    pub input: String,
    /// Where its copy went (or would go).
    pub output: String,
    /// `anonymized`, `would_anonymize` (dry run), `skipped` (not DICOM) or `failed`.
    pub status: String,
    /// Why it was skipped or failed.
    pub error: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnonymizeReport {
    /// `basic` or `reference`.
    pub profile: String,
    /// Files written (or that would be).
    pub processed: usize,
    /// Inputs that are not DICOM.
    pub skipped: usize,
    /// Inputs that could not be read or written.
    pub failed: usize,
    /// Every input, in path order.
    pub files: Vec<AnonymizedFile>,
}

impl Row for AnonymizedFile {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("input", "Input"),
        ("output", "Output"),
        ("status", "Status"),
        ("error", "Error"),
    ];
    const ID: &'static str = "output";
}

impl Report for AnonymizeReport {
    type Row = AnonymizedFile;
    fn rows(&self) -> Vec<AnonymizedFile> {
        self.files.clone()
    }
}

/// Where each input goes: a file to `output` (or into it, if it is a directory), a directory's
/// files to the same relative paths under `output`. Refuses any plan that would write over an
/// input.
pub fn plan(input: &Path, output: &Path, recursive: bool) -> Result<Vec<(PathBuf, PathBuf)>> {
    let files = walk::collect(input, recursive)?;
    let pairs: Vec<(PathBuf, PathBuf)> = if input.is_file() {
        let dest = if output.is_dir() {
            output.join(input.file_name().unwrap_or_default())
        } else {
            output.to_path_buf()
        };
        vec![(input.to_path_buf(), dest)]
    } else {
        if output.is_file() {
            return Err(Error::InvalidPath {
                value: output.display().to_string(),
                reason: "is a file; a directory input needs an output directory".into(),
            });
        }
        files
            .into_iter()
            .map(|f| {
                let rel = f.strip_prefix(input).unwrap_or(&f).to_path_buf();
                (f, output.join(rel))
            })
            .collect()
    };
    for (src, dest) in &pairs {
        if same_file(src, dest) {
            return Err(Error::Usage(format!(
                "output {} would overwrite its input; choose another output",
                dest.display()
            )));
        }
    }
    Ok(pairs)
}

/// Whether `dest` exists and is `src` (the same inode, or the same canonical path elsewhere).
fn same_file(src: &Path, dest: &Path) -> bool {
    let Ok(d) = std::fs::metadata(dest) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = &d;
        std::fs::metadata(src).is_ok_and(|s| (s.dev(), s.ino()) == (d.dev(), d.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = d;
        matches!((src.canonicalize(), dest.canonicalize()), (Ok(a), Ok(b)) if a == b)
    }
}

/// Anonymize `input` into `output`. `cancel` is polled between files; a cancelled run stops
/// with [`Error::Cancelled`] after the files in flight are complete.
pub fn anonymize(
    input: &Path,
    output: &Path,
    opts: &AnonymizeOptions,
    uids: &UidMap,
    cancel: &(dyn Fn() -> bool + Sync),
) -> Result<AnonymizeReport> {
    let pairs = plan(input, output, opts.recursive)?;
    let results = walk::par_map(&pairs, opts.threads, |(src, dest)| {
        if cancel() {
            return None;
        }
        Some(anonymize_file(src, dest, opts, uids))
    });
    if results.iter().any(Option::is_none) {
        return Err(Error::Cancelled);
    }
    let files: Vec<AnonymizedFile> = results.into_iter().flatten().collect();
    let count = |s: &str| files.iter().filter(|f| f.status == s).count();
    Ok(AnonymizeReport {
        profile: match opts.profile {
            Profile::Basic => "basic".into(),
            Profile::Reference => "reference".into(),
        },
        processed: count("anonymized") + count("would_anonymize"),
        skipped: count("skipped"),
        failed: count("failed"),
        files,
    })
}

fn anonymize_file(
    src: &Path,
    dest: &Path,
    opts: &AnonymizeOptions,
    uids: &UidMap,
) -> AnonymizedFile {
    let row = |status: &str, error: Option<String>| AnonymizedFile {
        input: src.display().to_string(),
        output: dest.display().to_string(),
        status: status.into(),
        error,
    };
    // The pixel data is neither parsed nor changed: it stays in the source file and is copied
    // into the output as bytes after the rewritten attributes.
    let (mut obj, tail) = match read::open_for_rewrite(src) {
        Ok(o) => o,
        Err(ReadError::NotDicom) => return row("skipped", Some(ReadError::NotDicom.message())),
        Err(e) => return row("failed", Some(e.message())),
    };
    if read::is_dicomdir(&obj) {
        return row("skipped", Some(DICOMDIR_SKIPPED.into()));
    }
    match opts.profile {
        Profile::Basic => {
            apply_basic(&mut obj, opts, uids);
            let sop = read::string_of(&obj, tags::SOP_INSTANCE_UID);
            if let Some(sop) = sop {
                obj.meta_mut().media_storage_sop_instance_uid = sop;
                obj.meta_mut().update_information_group_length();
            }
        }
        Profile::Reference => apply_reference(&mut obj, opts),
    }
    if opts.dry_run {
        return row("would_anonymize", None);
    }
    let written = match &tail {
        Some(t) => write::write_object_with_tail_atomic(&obj, t, dest, None),
        None => write::write_object_atomic(&obj, dest, None),
    };
    match written {
        Ok(()) => row("anonymized", None),
        Err(e) => row("failed", Some(e)),
    }
}

fn text(tag: Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

fn apply_reference(obj: &mut InMemDicomObject, opts: &AnonymizeOptions) {
    if let Some(id) = &opts.patient_id {
        obj.put(text(tags::PATIENT_ID, VR::LO, id));
    }
    if let Some(name) = &opts.patient_name {
        obj.put(text(tags::PATIENT_NAME, VR::PN, name));
    }
    for tag in profile::reference_removals() {
        obj.remove_element(tag);
    }
    if opts.remove_private {
        let private: Vec<Tag> = obj
            .iter()
            .map(|e| e.header().tag)
            .filter(|t| t.group() % 2 == 1)
            .collect();
        for t in private {
            obj.remove_element(t);
        }
    }
}

fn apply_basic(obj: &mut InMemDicomObject, opts: &AnonymizeOptions, uids: &UidMap) {
    scrub(obj, opts, uids);
    let id = opts.patient_id.as_deref().unwrap_or(PLACEHOLDER);
    let name = opts.patient_name.as_deref().unwrap_or(PLACEHOLDER);
    obj.put(text(tags::PATIENT_ID, VR::LO, id));
    obj.put(text(tags::PATIENT_NAME, VR::PN, name));
    obj.put(text(tags::PATIENT_IDENTITY_REMOVED, VR::CS, "YES"));
    // PS3.15 E.1.1: the profile and options applied, as text and as codes (CID 7050).
    let mut codes = vec![("113100", "Basic Application Confidentiality Profile")];
    if opts.retain_dates {
        codes.push((
            "113106",
            "Retain Longitudinal Temporal Information Full Dates Option",
        ));
    }
    if opts.retain_uids {
        codes.push(("113110", "Retain UIDs Option"));
    }
    let method: Vec<String> = codes.iter().map(|(_, m)| (*m).to_string()).collect();
    obj.put(DataElement::new(
        tags::DEIDENTIFICATION_METHOD,
        VR::LO,
        PrimitiveValue::Strs(method.into()),
    ));
    let items: Vec<InMemDicomObject> = codes
        .iter()
        .map(|(value, meaning)| {
            let mut item = InMemDicomObject::new_empty();
            item.put(text(tags::CODE_VALUE, VR::SH, value));
            item.put(text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "DCM"));
            item.put(text(tags::CODE_MEANING, VR::LO, meaning));
            item
        })
        .collect();
    obj.put(DataElement::new(
        tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(items),
    ));
}

/// Apply the basic profile to one dataset and, recursively, to every sequence item in it.
fn scrub(obj: &mut InMemDicomObject, opts: &AnonymizeOptions, uids: &UidMap) {
    let elements: Vec<(Tag, VR)> = obj.iter().map(|e| (e.header().tag, e.vr())).collect();
    for (tag, vr) in elements {
        if tag.group() % 2 == 1 {
            if !opts.keep_private {
                obj.remove_element(tag);
            }
            continue;
        }
        let temporal = matches!(vr, VR::DA | VR::TM | VR::DT);
        match profile::basic_action(tag) {
            Some(_) if temporal && opts.retain_dates => {}
            Some(Action::Remove) => {
                obj.remove_element(tag);
                continue;
            }
            Some(Action::Empty) => {
                obj.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
                continue;
            }
            Some(Action::Dummy) => {
                obj.put(text(tag, vr, dummy(vr)));
                continue;
            }
            None => {}
        }
        if vr == VR::SQ {
            obj.update_value(tag, |v| {
                if let Value::Sequence(seq) = v {
                    for item in seq.items_mut().iter_mut() {
                        scrub(item, opts, uids);
                    }
                }
            });
        } else if vr == VR::UI && !opts.retain_uids && !profile::is_class_uid(tag) {
            replace_uids(obj, tag, uids);
        }
    }
}

fn replace_uids(obj: &mut InMemDicomObject, tag: Tag, uids: &UidMap) {
    let Some(values) = obj
        .element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_multi_str().ok().map(|v| v.to_vec()))
    else {
        return;
    };
    let replaced: Vec<String> = values
        .iter()
        .map(|v| v.trim_end_matches(['\0', ' ']))
        .map(|v| {
            if v.is_empty() || v.starts_with("1.2.840.10008.") {
                v.to_string()
            } else {
                uids.replace(v)
            }
        })
        .collect();
    let value = if replaced.len() == 1 {
        PrimitiveValue::from(replaced[0].as_str())
    } else {
        PrimitiveValue::Strs(replaced.into())
    };
    obj.put(DataElement::new(tag, VR::UI, value));
}

fn dummy(vr: VR) -> &'static str {
    match vr {
        VR::DA => "19000101",
        VR::TM => "000000",
        VR::DT => "19000101000000",
        VR::AS => "000Y",
        VR::IS | VR::DS => "0",
        _ => PLACEHOLDER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::dicom::testing::{write_sample, Sample};
    use crate::services::dicom::{element_text, inspect};

    fn all_text(path: &Path) -> String {
        let obj = read::open_full(path).unwrap();
        fn walk(o: &InMemDicomObject, out: &mut String) {
            for e in o.iter() {
                if let Value::Sequence(s) = e.value() {
                    for i in s.items() {
                        walk(i, out);
                    }
                } else {
                    out.push_str(&element_text(e, 0));
                    out.push('|');
                }
            }
        }
        let mut s = String::new();
        walk(&obj, &mut s);
        s
    }

    fn run(opts: &AnonymizeOptions) -> (tempfile::TempDir, AnonymizeReport, UidMap) {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir_all(input.join("s1")).unwrap();
        write_sample(&input.join("a.dcm"), &Sample::default());
        let second = Sample {
            sop_uid: "1.2.3.4.5.6.8".into(),
            ..Sample::default()
        };
        write_sample(&input.join("s1/b.dcm"), &second);
        std::fs::write(input.join("photo.jpg"), b"\xff\xd8\xff\xe0").unwrap();
        let uids = UidMap::new();
        let r = anonymize(&input, &dir.path().join("out"), opts, &uids, &|| false).unwrap();
        (dir, r, uids)
    }

    #[test]
    fn basic_profile_removes_identity_everywhere_and_records_the_method() {
        let opts = AnonymizeOptions {
            recursive: true,
            threads: 2,
            ..Default::default()
        };
        let (dir, r, _) = run(&opts);
        assert_eq!((r.processed, r.skipped, r.failed), (2, 1, 0));
        let out = dir.path().join("out/a.dcm");
        let text = all_text(&out);
        for secret in [
            "Smith",
            "PAT001",
            "OTHER-ID-9",
            "General Hospital",
            "Doe^John",
            "secret",
            "19700101",
            "1.2.3.4.5|",
        ] {
            assert!(!text.contains(secret), "{secret} survived: {text}");
        }
        let shown = inspect::inspect(
            &out,
            &["PatientIdentityRemoved".into(), "PatientID".into()],
            false,
        )
        .unwrap();
        assert_eq!(shown[0].value.as_deref(), Some("YES"));
        assert_eq!(shown[1].value.as_deref(), Some(PLACEHOLDER));
        // The input is untouched and no temporary file is left behind.
        assert!(all_text(&dir.path().join("in/a.dcm")).contains("Smith^Jane"));
        let names: Vec<_> = std::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn uids_are_replaced_consistently_across_files_and_meta_follows() {
        let opts = AnonymizeOptions {
            recursive: true,
            ..Default::default()
        };
        let (dir, _, uids) = run(&opts);
        let a = read::open_full(&dir.path().join("out/a.dcm")).unwrap();
        let b = read::open_full(&dir.path().join("out/s1/b.dcm")).unwrap();
        let study = |o: &dicom_object::DefaultDicomObject| {
            read::string_of(o, tags::STUDY_INSTANCE_UID).unwrap()
        };
        assert_eq!(study(&a), study(&b));
        assert_eq!(study(&a), uids.replace("1.2.3.4.5"));
        assert!(study(&a).starts_with("2.25."));
        assert_eq!(
            a.meta().media_storage_sop_instance_uid(),
            read::string_of(&a, tags::SOP_INSTANCE_UID).unwrap()
        );
        assert_eq!(
            read::string_of(&a, tags::SOP_CLASS_UID).as_deref(),
            Some(dicom_dictionary_std::uids::MR_IMAGE_STORAGE)
        );
    }

    #[test]
    fn reference_profile_keeps_names_and_uids() {
        let opts = AnonymizeOptions {
            profile: Profile::Reference,
            ..Default::default()
        };
        let (dir, r, _) = run(&opts);
        assert_eq!(r.processed, 1);
        let text = all_text(&dir.path().join("out/a.dcm"));
        assert!(text.contains("Smith^Jane") && text.contains("1.2.3.4.5|"));
        assert!(!text.contains("General Hospital"));
    }

    #[test]
    fn uid_map_round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.json");
        let m = UidMap::new();
        let new = m.replace("1.2.3");
        m.save(&path).unwrap();
        assert_eq!(UidMap::load(&path).unwrap().replace("1.2.3"), new);
        std::fs::write(&path, "[1]").unwrap();
        assert!(UidMap::load(&path).is_err());
    }

    /// The pixel data is copied as bytes (not decoded and re-encoded) in every uncompressed
    /// transfer syntax; a private element after it still goes (the whole-file path).
    #[test]
    fn pixel_data_is_copied_unchanged_and_elements_after_it_are_still_scrubbed() {
        use dicom_dictionary_std::uids;
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir_all(&input).unwrap();
        let cases = [
            ("explicit.dcm", uids::EXPLICIT_VR_LITTLE_ENDIAN, None),
            ("implicit.dcm", uids::IMPLICIT_VR_LITTLE_ENDIAN, None),
            ("big.dcm", "1.2.840.10008.1.2.2", None),
            (
                "after.dcm",
                uids::EXPLICIT_VR_LITTLE_ENDIAN,
                Some("trailing-secret".to_string()),
            ),
        ];
        for (name, ts, after) in &cases {
            let sample = Sample {
                transfer_syntax: ts,
                after_pixels: after.clone(),
                ..Sample::default()
            };
            write_sample(&input.join(name), &sample);
            // Only the file with an element after its pixel data is read whole.
            let (_, tail) = read::open_for_rewrite(&input.join(name)).unwrap();
            assert_eq!(tail.is_none(), after.is_some(), "{name}");
        }
        let out = dir.path().join("out");
        let opts = AnonymizeOptions::default();
        let r = anonymize(&input, &out, &opts, &UidMap::new(), &|| false).unwrap();
        assert_eq!((r.processed, r.failed), (4, 0), "{r:?}");
        for (name, ts, _) in &cases {
            let a = read::open_full(&input.join(name)).unwrap();
            let b = read::open_full(&out.join(name)).unwrap();
            assert_eq!(b.meta().transfer_syntax(), *ts);
            let pixels = |o: &dicom_object::DefaultDicomObject| {
                o.element(tags::PIXEL_DATA)
                    .unwrap()
                    .to_bytes()
                    .unwrap()
                    .to_vec()
            };
            assert_eq!(pixels(&a), pixels(&b), "{name}");
            assert_eq!(
                read::string_of(&b, tags::PATIENT_NAME).as_deref(),
                Some(PLACEHOLDER)
            );
            let text = all_text(&out.join(name));
            assert!(
                !text.contains("Smith") && !text.contains("secret"),
                "{name}: {text}"
            );
        }
    }

    /// A file cut inside its pixel data fails and leaves no output behind.
    #[test]
    fn a_truncated_file_fails_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir_all(&input).unwrap();
        let p = input.join("cut.dcm");
        write_sample(&p, &Sample::default());
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 3]).unwrap();
        let out = dir.path().join("out");
        let r = anonymize(
            &input,
            &out,
            &AnonymizeOptions::default(),
            &UidMap::new(),
            &|| false,
        )
        .unwrap();
        assert_eq!((r.processed, r.failed), (0, 1), "{r:?}");
        assert!(
            r.files[0].error.as_deref().unwrap().contains("claims"),
            "{r:?}"
        );
        let left = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0);
    }

    #[test]
    fn writing_over_the_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.dcm");
        write_sample(&p, &Sample::default());
        assert!(plan(&p, &p, false).is_err());
        assert!(plan(dir.path(), dir.path(), false).is_err());
    }
}
