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

/// A directory with 3 instances, a JPEG, an empty file and a DICOMDIR-less text file.
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
