//! `local extract`: safe, in-place extraction of downloaded XNAT zips into the download layout.

use crate::support;

use std::io::Write;
use std::path::Path;

use crate::support::{files_under, insta_settings, stderr_of, stdout_of, TestEnv};

fn zip_with(path: &Path, members: &[(&str, &[u8])]) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, data) in members {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
}

fn xnat_zip(path: &Path) {
    zip_with(
        path,
        &[
            ("MR1/scans/1-T1_MPRAGE/resources/DICOM/files/1.dcm", b"one"),
            ("MR1/resources/NOTES/files/a/notes.txt", b"notes"),
        ],
    );
}

#[test]
fn extracts_into_the_layout_and_removes_the_archive() {
    let env = TestEnv::empty();
    let dir = env.home.path().join("dl");
    std::fs::create_dir(&dir).unwrap();
    xnat_zip(&dir.join("MR1.zip"));
    let run = env
        .bare_cmd()
        .args(["local", "extract"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert_eq!(
        files_under(&dir),
        [
            "resources/NOTES/files/a/notes.txt",
            "scans/1/resources/DICOM/files/1.dcm",
        ]
    );
    assert_eq!(
        std::fs::read(dir.join("scans/1/resources/DICOM/files/1.dcm")).unwrap(),
        b"one"
    );
    insta_settings(&env).bind(|| insta::assert_snapshot!("local_extract_table", stdout_of(&run)));
}

#[test]
fn no_cleanup_keeps_archives_and_recursive_finds_nested_ones() {
    let env = TestEnv::empty();
    let dir = env.home.path().join("dl");
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    xnat_zip(&dir.join("nested/MR1.zip"));
    let run = env
        .bare_cmd()
        .args(["local", "extract", "--no-cleanup", "-o", "json"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(run.status.success());
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["extracted"], 0, "not recursive: nothing found");
    let run = env
        .bare_cmd()
        .args(["local", "extract", "--no-cleanup", "-r", "-q"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(run.status.success());
    assert_eq!(
        stdout_of(&run),
        format!("{}\n", dir.join("nested/MR1.zip").display())
    );
    assert!(dir.join("nested/MR1.zip").exists());
    assert!(dir
        .join("nested/scans/1/resources/DICOM/files/1.dcm")
        .exists());
}

#[test]
fn an_archive_with_an_escaping_member_is_refused_and_nothing_is_written() {
    let env = TestEnv::empty();
    let dir = env.home.path().join("dl");
    std::fs::create_dir(&dir).unwrap();
    zip_with(
        &dir.join("evil.zip"),
        &[
            ("MR1/resources/R/files/ok.txt", b"fine"),
            ("MR1/../../escaped.txt", b"gotcha"),
        ],
    );
    xnat_zip(&dir.join("good.zip"));
    let run = env
        .bare_cmd()
        .args(["local", "extract", "-o", "json"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "a failed archive fails the run");
    assert!(!env.home.path().join("escaped.txt").exists());
    assert!(
        !dir.join("resources/R").exists(),
        "the refused archive wrote nothing"
    );
    assert!(dir.join("evil.zip").exists(), "the refused archive is kept");
    assert!(
        !dir.join("good.zip").exists(),
        "the good one was still extracted"
    );
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["failed"], 1);
    assert_eq!(v["extracted"], 1);
    assert!(
        stderr_of(&run).contains("MR1/../../escaped.txt"),
        "{}",
        stderr_of(&run)
    );
}

#[test]
fn a_corrupt_archive_fails_the_run() {
    let env = TestEnv::empty();
    let dir = env.home.path().join("dl");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("broken.zip"), b"PK not really").unwrap();
    let run = env
        .bare_cmd()
        .args(["local", "extract"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr_of(&run).contains("invalid ZIP file"),
        "{}",
        stderr_of(&run)
    );
}

#[test]
fn dry_run_names_the_real_targets_and_writes_nothing() {
    let env = TestEnv::empty();
    let dir = env.home.path().join("dl");
    std::fs::create_dir(&dir).unwrap();
    xnat_zip(&dir.join("MR1.zip"));
    let run = env
        .bare_cmd()
        .args(["local", "extract", "--dry-run"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(run.status.success());
    assert_eq!(files_under(&dir), ["MR1.zip"]);
    insta_settings(&env)
        .bind(|| insta::assert_snapshot!("local_extract_dry_run_stderr", stderr_of(&run)));
}

// The directory is given relative to the working directory (the test's home), so the printed
// paths, and the table's column widths, do not depend on where the temp directory lives.
#[test]
fn extract_prints_each_format_and_writes_exactly_the_members() {
    for fmt in support::FORMATS {
        let env = TestEnv::empty();
        let dir = env.home.path().join("dl");
        std::fs::create_dir(&dir).unwrap();
        xnat_zip(&dir.join("MR1.zip"));
        let args = support::with_format(&["local", "extract", "dl"], fmt);
        let text = support::report(&env, support::command(&env, &args));
        insta_settings(&env).bind(|| {
            insta::assert_snapshot!(format!("local_extract_report_{fmt}"), text);
        });
        assert_eq!(
            support::local_digests(&dir),
            std::collections::BTreeMap::from([
                (
                    "resources/NOTES/files/a/notes.txt".to_string(),
                    xnat_sim::state::md5_hex(b"notes")
                ),
                (
                    "scans/1/resources/DICOM/files/1.dcm".to_string(),
                    xnat_sim::state::md5_hex(b"one")
                ),
            ]),
            "{fmt}: the members, and the archive removed"
        );
        assert!(env.request_lines().is_empty(), "{fmt}: local only");
    }
}

#[test]
fn extract_dry_run_prints_each_format_and_writes_nothing() {
    for fmt in support::FORMATS {
        let env = TestEnv::empty();
        let dir = env.home.path().join("dl");
        std::fs::create_dir(&dir).unwrap();
        xnat_zip(&dir.join("MR1.zip"));
        let before = support::local_digests(&dir);
        let args = support::with_format(&["local", "extract", "--dry-run", "dl"], fmt);
        let text = support::report(&env, support::command(&env, &args));
        insta_settings(&env).bind(|| {
            insta::assert_snapshot!(format!("local_extract_dry_run_report_{fmt}"), text);
        });
        assert_eq!(support::local_digests(&dir), before, "{fmt}");
        assert_eq!(files_under(&dir), ["MR1.zip"], "{fmt}");
        assert!(env.request_lines().is_empty(), "{fmt}: local only");
    }
}

#[cfg(unix)]
#[test]
fn a_planted_part_symlink_is_never_followed() {
    let env = TestEnv::empty();
    let dir = env.home.path().join("dl");
    let files = dir.join("scans/1/resources/DICOM/files");
    std::fs::create_dir_all(&files).unwrap();
    let victim = env.home.path().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    std::os::unix::fs::symlink(&victim, files.join("1.dcm.part")).unwrap();
    xnat_zip(&dir.join("MR1.zip"));
    let run = env
        .bare_cmd()
        .args(["local", "extract", "--no-cleanup"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(std::fs::read(files.join("1.dcm")).unwrap(), b"one");
    assert!(!std::fs::symlink_metadata(files.join("1.dcm"))
        .unwrap()
        .is_symlink());
}

#[test]
fn an_archive_with_skipped_members_is_kept_and_the_run_says_so() {
    let env = TestEnv::empty();
    let dir = env.home.path().join("dl");
    std::fs::create_dir(&dir).unwrap();
    zip_with(
        &dir.join("MR1.zip"),
        &[
            ("MR1/scans/1-T1/resources/DICOM/files/1.dcm", b"one"),
            ("MR1/scans/1-T1/resources/DICOM/files/.hidden", b"h"),
            ("README.txt", b"beside the session folder"),
        ],
    );
    let run = env
        .bare_cmd()
        .args(["local", "extract"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert!(dir.join("MR1.zip").exists(), "the archive is kept");
    let err = stderr_of(&run);
    assert!(
        err.contains("kept") && err.contains(".hidden") && err.contains("README.txt"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dir.join("scans/1/resources/DICOM/files/1.dcm")).unwrap(),
        b"one"
    );
}
