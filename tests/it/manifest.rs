//! Selection manifests: `session list` / `scan list` `--manifest FILE` write exactly what they
//! listed (after the list controls), and `session download --manifest FILE` acts on exactly that
//! selection.

use crate::support::{files_under, stderr_of, TestEnv};

#[test]
fn a_filtered_session_list_writes_its_rows_and_download_fetches_only_those_sessions() {
    let env = TestEnv::demo();
    let m = env.home.path().join("sel.jsonl");
    let o = env
        .cmd()
        .args([
            "session",
            "list",
            "-P",
            "DEMO_MR",
            "--filter",
            "label:SUBJ00[13]*",
        ])
        .arg("--manifest")
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(
        std::fs::read_to_string(&m).unwrap(),
        "{\"project\":\"DEMO_MR\",\"session_id\":\"XNAT_E00001\",\"session_label\":\"SUBJ001_MR1\",\"subject_label\":\"SUBJ001\"}\n\
         {\"project\":\"DEMO_MR\",\"session_id\":\"XNAT_E00003\",\"session_label\":\"SUBJ003_MR1\",\"subject_label\":\"SUBJ003\"}\n"
    );
    assert!(stderr_of(&o).contains("Wrote 2 session(s) to the manifest"));
    let out = env.home.path().join("data");
    env.clear_requests();
    let o = env
        .cmd()
        .args(["session", "download", "--out"])
        .arg(&out)
        .arg("--manifest")
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    // SUBJ003_MR1 has no files in the demo: its session is still planned (requests), and
    // nothing of SUBJ002_MR1 is touched.
    let files = files_under(&out);
    assert!(!files.is_empty());
    assert!(
        files.iter().all(|f| f.starts_with("SUBJ001_MR1/scans/")),
        "{files:?}"
    );
    let lines = env.request_lines();
    assert!(lines.iter().any(|l| l.contains("XNAT_E00003")), "{lines:?}");
    assert!(
        !lines.iter().any(|l| l.contains("XNAT_E00002")),
        "{lines:?}"
    );
    assert!(stderr_of(&o).contains("Downloaded the 2 session(s) of"));
}

#[test]
fn a_scan_list_manifest_downloads_only_the_listed_scans() {
    let env = TestEnv::demo();
    let m = env.home.path().join("scans.jsonl");
    let o = env
        .cmd()
        .args([
            "scan",
            "list",
            "-P",
            "DEMO_MR",
            "-E",
            "SUBJ001_MR1",
            "--filter",
            "type:T1*",
        ])
        .arg("--manifest")
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(
        std::fs::read_to_string(&m).unwrap(),
        "{\"project\":\"DEMO_MR\",\"session_id\":\"XNAT_E00001\",\"session_label\":\"SUBJ001_MR1\",\"scan_id\":\"2\",\"scan_type\":\"T1w\"}\n"
    );
    let out = env.home.path().join("data");
    let o = env
        .cmd()
        .args(["session", "download", "--out"])
        .arg(&out)
        .arg("--manifest")
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(
        files_under(&out),
        [
            "SUBJ001_MR1/scans/2/resources/DICOM/files/2-1.dcm",
            "SUBJ001_MR1/scans/2/resources/DICOM/files/2-2.dcm"
        ]
    );
}

#[test]
fn a_malformed_manifest_names_its_line_and_downloads_nothing() {
    let env = TestEnv::demo();
    let m = env.home.path().join("bad.jsonl");
    std::fs::write(
        &m,
        "{\"project\":\"DEMO_MR\",\"session_id\":\"XNAT_E00001\"}\n\nnot json\n",
    )
    .unwrap();
    let out = env.home.path().join("data");
    let o = env
        .cmd()
        .args(["session", "download", "--out"])
        .arg(&out)
        .arg("--manifest")
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr_of(&o).contains("bad.jsonl line 3:"),
        "{}",
        stderr_of(&o)
    );
    assert!(files_under(&out).is_empty());
    let o = env
        .cmd()
        .args(["session", "download", "-E", "XNAT_E00001", "--manifest"])
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_manifest_session_that_fails_is_a_failed_entry_of_the_one_document() {
    let env = TestEnv::demo();
    let m = env.home.path().join("sel.jsonl");
    std::fs::write(
        &m,
        "{\"project\":\"DEMO_MR\",\"session_id\":\"XNAT_E00001\"}\n\
         {\"project\":\"DEMO_MR\",\"session_id\":\"XNAT_E09999\"}\n",
    )
    .unwrap();
    let out = env.home.path().join("data");
    let o = env
        .cmd()
        .args(["session", "download", "-o", "json", "--out"])
        .arg(&out)
        .arg("--manifest")
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), 2, "{v}");
    assert_eq!(runs[0]["session_id"], "XNAT_E00001");
    assert_eq!(runs[0]["status"], "success");
    assert_eq!(runs[1]["session_id"], "XNAT_E09999");
    assert_eq!(runs[1]["project"], "DEMO_MR");
    assert_eq!(runs[1]["status"], "failed");
    assert_eq!(runs[1]["items"][0]["id"], "XNAT_E09999");
    assert!(stderr_of(&o).contains("XNAT_E09999: "), "{}", stderr_of(&o));
    // The table names each item's session.
    let o = env
        .cmd()
        .args(["session", "download", "-o", "tsv", "--out"])
        .arg(&out)
        .arg("--manifest")
        .arg(&m)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], "session\tid\tstatus\tfiles\ttransferred\tbytes\terror",
        "{text}"
    );
    assert!(lines[1].starts_with("XNAT_E00001\t"), "{text}");
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("XNAT_E09999\tXNAT_E09999\tfailed\t"),
        "{text}"
    );
}
