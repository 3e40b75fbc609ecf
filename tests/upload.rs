//! `session upload`, `session upload-exam` and `resource upload` against the simulator.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use support::{insta_settings, stderr_of, stdout_of, TestEnv};
use xnat_sim::state::md5_hex;

/// Local files below `dir` → MD5, keyed by relative path.
fn local_digests(dir: &Path) -> BTreeMap<String, String> {
    support::files_under(dir)
        .into_iter()
        .map(|rel| {
            let bytes = std::fs::read(dir.join(&rel)).unwrap();
            (rel, md5_hex(&bytes))
        })
        .collect()
}

/// Files of a project resource in the simulator → MD5.
fn project_resource(env: &TestEnv, project: &str, label: &str) -> BTreeMap<String, String> {
    env.sim.with_state(|s| {
        s.projects[project]
            .resources
            .iter()
            .find(|r| r.label == label)
            .map(|r| {
                r.files
                    .iter()
                    .map(|(k, f)| (k.clone(), f.digest.clone()))
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Files of a session resource in the simulator → MD5.
fn session_resource(env: &TestEnv, experiment: &str, label: &str) -> BTreeMap<String, String> {
    env.sim.with_state(|s| {
        s.experiments[experiment]
            .resources
            .iter()
            .find(|r| r.label == label)
            .map(|r| {
                r.files
                    .iter()
                    .map(|(k, f)| (k.clone(), f.digest.clone()))
                    .collect()
            })
            .unwrap_or_default()
    })
}

fn summary_filters(env: &TestEnv) -> insta::Settings {
    let mut s = insta_settings(env);
    s.add_filter(
        r#""duration_seconds": [0-9.]+"#,
        r#""duration_seconds": [D]"#,
    );
    s.add_filter(r"(Duration Seconds\s+)[0-9.]+", "${1}[D]");
    s.add_filter(r"\t[0-9]+\.[0-9]+\t", "\t[D]\t");
    s
}

#[test]
fn resource_upload_of_a_file_lands_with_its_digest() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("notes.txt");
    std::fs::write(&file, b"scan notes\n").unwrap();
    let out = env
        .cmd()
        .args(["resource", "upload", "-P", "DEMO_MR", "NOTES"])
        .arg(&file)
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let got = project_resource(&env, "DEMO_MR", "NOTES");
    assert_eq!(
        got,
        BTreeMap::from([("notes.txt".to_string(), md5_hex(b"scan notes\n"))])
    );
    let mut s = summary_filters(&env);
    s.add_filter(&regex::escape(&work.path().display().to_string()), "[WORK]");
    s.bind(|| insta::assert_snapshot!("resource_upload_file_json", stdout_of(&out)));
    let put = env
        .request_lines()
        .into_iter()
        .find(|l| l.starts_with("PUT /data/projects/DEMO_MR/resources/NOTES/files/"))
        .unwrap();
    assert_eq!(
        put,
        "PUT /data/projects/DEMO_MR/resources/NOTES/files/notes.txt?inbody=true"
    );
}

#[test]
fn resource_upload_of_a_directory_is_zipped_and_extracted() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("derived");
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    std::fs::write(dir.join("a.nii"), vec![7u8; 5000]).unwrap();
    std::fs::write(dir.join("sub/b.json"), b"{\"k\":1}").unwrap();
    std::fs::write(dir.join("sub/deeper/c.txt"), b"c").unwrap();
    let out = env
        .cmd()
        .args(["resource", "upload", "XNAT_E00001", "DERIVED"])
        .arg(&dir)
        .args(["-P", "DEMO_MR", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        session_resource(&env, "XNAT_E00001", "DERIVED"),
        local_digests(&dir)
    );
    assert!(env
        .request_lines()
        .iter()
        .any(|l| l.contains("/resources/DERIVED/files/derived.zip?inbody=true&extract=true")));
}

#[test]
fn resource_upload_table_output() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("report.csv");
    std::fs::write(&file, b"a,b\n1,2\n").unwrap();
    let out = env
        .cmd()
        .args(["resource", "upload", "-P", "DEMO_MR", "-S", "SUBJ001", "QC"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut s = summary_filters(&env);
    s.add_filter(&regex::escape(&work.path().display().to_string()), "[WORK]");
    s.bind(|| insta::assert_snapshot!("resource_upload_file_table", stdout_of(&out)));
    assert!(stderr_of(&out).contains("Uploaded to QC"));
}

#[test]
fn password_on_argv_is_refused() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let out = env
        .cmd()
        .args(["session", "upload"])
        .arg(work.path())
        .args([
            "-P",
            "DEMO_MR",
            "-S",
            "S1",
            "-E",
            "E1",
            "--password",
            "hunter2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(err.contains("refusing to read --password"), "{err}");
    assert!(!err.contains("hunter2"));
    assert!(env.request_lines().is_empty());
}

#[test]
fn empty_or_non_dicom_directory_is_a_clear_error() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("readme.txt"), b"not dicom").unwrap();
    let out = env
        .cmd()
        .args(["session", "upload"])
        .arg(work.path())
        .args(["-P", "DEMO_MR", "-S", "S1", "-E", "E1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("no DICOM files found"),
        "{}",
        stderr_of(&out)
    );
    assert!(env.request_lines().is_empty(), "{:?}", env.request_lines());
}
