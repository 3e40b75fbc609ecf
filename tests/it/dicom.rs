//! `dicom validate|inspect|list-tags|anonymize|modify`: local files only, the real binary.

use std::path::Path;

use serde_json::Value;

use crate::support::dicom::{pydicom_test_files, tool, write_study};
use crate::support::{md5_file, stderr_of, stdout_of, TestEnv};

fn xnatctl(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.bare_cmd().args(args).output().expect("runs")
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout_of(out)))
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A directory with 3 instances, a JPEG and an empty file.
fn mixed_dir(dir: &Path) {
    write_study(dir, "PAT1", 7, 3);
    std::fs::write(dir.join("photo.jpg"), b"\xff\xd8\xff\xe0\x00\x10JFIF").unwrap();
    std::fs::write(dir.join("empty.dcm"), b"").unwrap();
}

#[test]
fn validate_counts_non_dicom_files_as_skipped_and_exits_0_when_all_dicom_is_valid() {
    let env = TestEnv::empty();
    let dir = tempfile::tempdir().unwrap();
    mixed_dir(dir.path());
    let out = xnatctl(&env, &["dicom", "validate", p(dir.path()), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let v = json_of(&out);
    assert_eq!(
        (
            v["valid_count"].as_u64(),
            v["invalid_count"].as_u64(),
            v["skipped_count"].as_u64()
        ),
        (Some(3), Some(0), Some(2))
    );
    assert_eq!(v["files"][0]["patient_id"], "PAT1");
}

#[test]
fn validate_reports_a_truncated_file_on_one_line_and_exits_1() {
    let env = TestEnv::empty();
    let dir = tempfile::tempdir().unwrap();
    let files = write_study(dir.path(), "PAT1", 7, 2);
    let bytes = std::fs::read(&files[1]).unwrap();
    std::fs::write(&files[1], &bytes[..300]).unwrap();
    let out = xnatctl(&env, &["dicom", "validate", p(dir.path()), "-q"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = stdout_of(&out);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with(p(&files[1])), "{stdout}");
    assert_eq!(
        stderr_of(&out).trim(),
        "error: DICOM error: 1 of 2 DICOM files are invalid"
    );
}

#[test]
fn inspect_prints_key_value_lines_and_json_and_fails_cleanly_on_a_jpeg() {
    let env = TestEnv::empty();
    let dir = tempfile::tempdir().unwrap();
    mixed_dir(dir.path());
    let file = dir.path().join("PAT1_7_0001.dcm");
    let out = xnatctl(&env, &["dicom", "inspect", p(&file)]);
    let text = stdout_of(&out);
    assert!(text.contains("\nPatientID: PAT1\n"), "{text}");
    let out = xnatctl(
        &env,
        &[
            "dicom",
            "inspect",
            p(&file),
            "-t",
            "Modality",
            "-t",
            "StationName",
            "-o",
            "json",
        ],
    );
    assert_eq!(
        json_of(&out),
        serde_json::json!({"Modality": "MR", "StationName": null})
    );
    let out = xnatctl(
        &env,
        &["dicom", "inspect", p(&dir.path().join("photo.jpg"))],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr_of(&out).lines().count(), 1, "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("not a DICOM file"));
    let out = xnatctl(&env, &["dicom", "inspect", p(&file), "-t", "NotAKeyword"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
}

#[test]
fn list_tags_tsv_has_tag_vr_name_value() {
    let env = TestEnv::empty();
    let dir = tempfile::tempdir().unwrap();
    let files = write_study(dir.path(), "PAT1", 7, 1);
    let out = xnatctl(&env, &["dicom", "list-tags", p(&files[0]), "-o", "tsv"]);
    let text = stdout_of(&out);
    assert!(text.starts_with("tag\tvr\tname\tvalue\n"), "{text}");
    assert!(
        text.contains("(0010,0020)\tLO\tPatientID\tPAT1\n"),
        "{text}"
    );
}

#[test]
fn anonymize_by_default_removes_names_and_ids_and_never_touches_inputs() {
    let env = TestEnv::empty();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    mixed_dir(&input);
    let before: Vec<String> = std::fs::read_dir(&input)
        .unwrap()
        .map(|e| md5_file(&e.unwrap().path()))
        .collect();
    let output = dir.path().join("out");
    let out = xnatctl(
        &env,
        &["dicom", "anonymize", p(&input), p(&output), "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let v = json_of(&out);
    assert_eq!(
        (
            v["processed"].as_u64(),
            v["skipped"].as_u64(),
            v["failed"].as_u64()
        ),
        (Some(3), Some(2), Some(0))
    );
    let after: Vec<String> = std::fs::read_dir(&input)
        .unwrap()
        .map(|e| md5_file(&e.unwrap().path()))
        .collect();
    assert_eq!(before, after);
    let mut written: Vec<String> = std::fs::read_dir(&output)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(
        written,
        ["PAT1_7_0001.dcm", "PAT1_7_0002.dcm", "PAT1_7_0003.dcm"]
    );
    for f in &written {
        let bytes = std::fs::read(output.join(f)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("PAT1"), "{f} still names the patient");
    }
    let a = xnatctl(
        &env,
        &[
            "dicom",
            "inspect",
            p(&output.join(&written[0])),
            "-o",
            "json",
        ],
    );
    let b = xnatctl(
        &env,
        &[
            "dicom",
            "inspect",
            p(&output.join(&written[1])),
            "-o",
            "json",
        ],
    );
    assert_eq!(
        json_of(&a)["StudyInstanceUID"],
        json_of(&b)["StudyInstanceUID"]
    );
    assert_ne!(json_of(&a)["SOPInstanceUID"], json_of(&b)["SOPInstanceUID"]);
}

#[test]
fn anonymize_reference_profile_keeps_the_patient_as_the_python_tool_does() {
    let env = TestEnv::empty();
    let dir = tempfile::tempdir().unwrap();
    let files = write_study(&dir.path().join("in"), "PAT1", 7, 1);
    let dest = dir.path().join("one.dcm");
    let out = xnatctl(
        &env,
        &[
            "dicom",
            "anonymize",
            p(&files[0]),
            p(&dest),
            "--deid-profile",
            "reference",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let shown = xnatctl(
        &env,
        &[
            "dicom",
            "inspect",
            p(&dest),
            "-t",
            "PatientID",
            "-o",
            "json",
        ],
    );
    assert_eq!(json_of(&shown)["PatientID"], "PAT1");
}

#[test]
fn modify_refuses_a_value_that_does_not_fit_its_vr_and_leaves_the_file_alone() {
    let env = TestEnv::empty();
    let dir = tempfile::tempdir().unwrap();
    let files = write_study(dir.path(), "PAT1", 7, 1);
    let before = md5_file(&files[0]);
    let out = xnatctl(
        &env,
        &["dicom", "modify", p(&files[0]), "-t", "StudyDate=yesterday"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("does not fit StudyDate (VR DA)"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(md5_file(&files[0]), before);
    let out = xnatctl(
        &env,
        &[
            "dicom",
            "modify",
            p(dir.path()),
            "-t",
            "PatientID=NEW",
            "--backup",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(json_of(&out)["files"][0]["changes"][0]["old"], "PAT1");
    let mut bak = files[0].clone().into_os_string();
    bak.push(".bak");
    assert_eq!(md5_file(Path::new(&bak)), before);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "a temporary file was left behind"
    );
}

/// Every file of pydicom's corpus is read or refused with one line; never a panic.
#[test]
fn pydicom_corpus_is_read_or_refused_with_one_line_never_a_panic() {
    let Some(corpus) = pydicom_test_files() else {
        return;
    };
    let env = TestEnv::empty();
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() > 50,
        "only {} files in {}",
        files.len(),
        corpus.display()
    );
    for f in &files {
        for verb in ["inspect", "list-tags"] {
            let out = xnatctl(&env, &["dicom", verb, p(f)]);
            let err = stderr_of(&out);
            match out.status.code() {
                Some(0) => {}
                Some(1) => assert_eq!(err.lines().count(), 1, "{verb} {}: {err}", f.display()),
                other => panic!("{verb} {} exited {other:?}: {err}", f.display()),
            }
            assert!(!err.contains("panicked"), "{verb} {}: {err}", f.display());
        }
    }
    let out = xnatctl(&env, &["dicom", "validate", p(&corpus), "-o", "json"]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        stderr_of(&out)
    );
    let v = json_of(&out);
    let counted = v["valid_count"].as_u64().unwrap()
        + v["invalid_count"].as_u64().unwrap()
        + v["skipped_count"].as_u64().unwrap();
    assert_eq!(counted as usize, files.len());
}

/// Values shown by `inspect` agree with dcmtk's dcmdump on a sample of the corpus.
#[test]
fn inspect_agrees_with_dcmdump_on_a_sample() {
    let Some(corpus) = pydicom_test_files() else {
        return;
    };
    let Some(dcmdump) = tool("dcmdump") else {
        return;
    };
    let env = TestEnv::empty();
    let keywords = [
        "PatientID",
        "PatientName",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "Modality",
        "StudyDate",
    ];
    for name in [
        "CT_small.dcm",
        "MR_small.dcm",
        "rtplan.dcm",
        "JPEG2000.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "image_dfl.dcm",
    ] {
        let file = corpus.join(name);
        let mut args = vec!["dicom", "inspect", p(&file), "-o", "json"];
        for k in keywords {
            args.extend(["-t", k]);
        }
        let ours = json_of(&xnatctl(&env, &args));
        let dump = std::process::Command::new(&dcmdump)
            .arg(&file)
            .output()
            .unwrap();
        let dump = String::from_utf8_lossy(&dump.stdout).into_owned();
        for k in keywords {
            // dcmdump: `(0010,0020) LO [1CT1]    #   4, 1 PatientID`
            let theirs = dump
                .lines()
                .find(|l| l.trim_end().ends_with(&format!(" {k}")) && !l.starts_with(' '))
                .and_then(|l| {
                    let start = l.find('[')?;
                    let end = l.rfind(']')?;
                    Some(l[start + 1..end].to_string())
                });
            match (&ours[k], theirs) {
                (Value::String(a), Some(b)) => assert_eq!(a, &b, "{name} {k}"),
                (Value::Null, None) => {}
                (Value::String(a), None) => {
                    assert!(a.is_empty(), "{name} {k}: ours {a}, dcmdump none")
                }
                (a, b) => panic!("{name} {k}: ours {a}, dcmdump {b:?}"),
            }
        }
    }
}

/// A minimal DICOMDIR (Media Storage Directory Storage) holding a patient record.
fn write_dicomdir(path: &Path) {
    use dicom_core::value::{DataSetSequence, PrimitiveValue};
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
    let s = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    let mut record = InMemDicomObject::new_empty();
    record.put(s(tags::DIRECTORY_RECORD_TYPE, VR::CS, "PATIENT"));
    record.put(s(tags::PATIENT_NAME, VR::PN, "Dir^Patient"));
    record.put(s(tags::PATIENT_ID, VR::LO, "DIRPAT"));
    let mut obj = InMemDicomObject::new_empty();
    obj.put(s(tags::FILE_SET_ID, VR::CS, "SET1"));
    obj.put(DataElement::new(
        tags::DIRECTORY_RECORD_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![record]),
    ));
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid("1.2.840.10008.1.3.10")
        .media_storage_sop_instance_uid("1.2.3.4.99")
        .transfer_syntax("1.2.840.10008.1.2.1")
        .implementation_class_uid("1.2.3.999")
        .build()
        .unwrap();
    obj.with_exact_meta(meta).write_to_file(path).unwrap();
}

/// The bad inputs that are directories: a DICOMDIR is an index, not an instance, so
/// every command skips it (a rewrite would break its record offsets) and none fails for it; a
/// directory of JPEGs has nothing to do (exit 0 locally) or nothing to send (exit 1).
#[test]
fn a_dicomdir_is_skipped_by_every_command_and_a_directory_of_jpegs_is_nothing_to_do() {
    let env = TestEnv::empty();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    write_study(&input, "PAT1", 7, 1);
    let dicomdir = input.join("DICOMDIR");
    write_dicomdir(&dicomdir);
    let before = md5_file(&dicomdir);
    let out = xnatctl(&env, &["dicom", "validate", p(&input), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let v = json_of(&out);
    assert_eq!(
        (v["valid_count"].as_u64(), v["skipped_count"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(
        v["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("DICOMDIR"),
        "{v}"
    );
    let out_dir = dir.path().join("out");
    let out = xnatctl(
        &env,
        &["dicom", "anonymize", p(&input), p(&out_dir), "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let v = json_of(&out);
    assert_eq!(
        (v["processed"].as_u64(), v["skipped"].as_u64()),
        (Some(1), Some(1)),
        "{v}"
    );
    assert!(!out_dir.join("DICOMDIR").exists());
    let out = xnatctl(
        &env,
        &[
            "dicom",
            "modify",
            p(&dicomdir),
            "-t",
            "PatientID=X",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(json_of(&out)["files"][0]["status"], "skipped");
    assert_eq!(md5_file(&dicomdir), before);
    let addr = env.sim.start_dicom_receiver("XNAT").unwrap();
    let port = addr.port().to_string();
    let send = |what: &Path| {
        xnatctl(
            &env,
            &[
                "session",
                "upload-dicom",
                p(what),
                "--host",
                "127.0.0.1",
                "--port",
                &port,
                "--called-aet",
                "XNAT",
                "-o",
                "json",
            ],
        )
    };
    let out = send(&input);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let v = json_of(&out);
    assert_eq!(v["files"], 1, "{v}");
    let skipped: Vec<&Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 1, "{v}");
    assert!(
        skipped[0]["id"].as_str().unwrap().ends_with("DICOMDIR"),
        "{v}"
    );
    // Only JPEGs.
    let jpegs = dir.path().join("jpegs");
    std::fs::create_dir(&jpegs).unwrap();
    for i in 0..3 {
        std::fs::write(
            jpegs.join(format!("p{i}.jpg")),
            b"\xff\xd8\xff\xe0\x00\x10JFIF",
        )
        .unwrap();
    }
    let out = xnatctl(&env, &["dicom", "validate", p(&jpegs), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(json_of(&out)["skipped_count"], 3);
    let out = xnatctl(
        &env,
        &[
            "dicom",
            "anonymize",
            p(&jpegs),
            p(&dir.path().join("jo")),
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        (
            json_of(&out)["processed"].as_u64(),
            json_of(&out)["skipped"].as_u64()
        ),
        (Some(0), Some(3))
    );
    let out = send(&jpegs);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).contains("No DICOM files found"),
        "{}",
        stdout_of(&out)
    );
}
