//! `session upload`, `session upload-exam` and `resource upload` against the simulator.

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{
    insta_settings, interrupt, local_digests, resource_digests, spawn, stderr_of, stdout_of,
    wait_for_request, TestEnv,
};
use xnat_sim::state::md5_hex;
use xnat_sim::FaultRule;

/// Files of a project resource in the simulator → MD5.
fn project_resource(env: &TestEnv, project: &str, label: &str) -> BTreeMap<String, String> {
    env.sim
        .with_state(|s| resource_digests(&s.projects[project].resources, label))
}

/// Files of a session resource in the simulator → MD5.
fn session_resource(env: &TestEnv, experiment: &str, label: &str) -> BTreeMap<String, String> {
    env.sim
        .with_state(|s| resource_digests(&s.experiments[experiment].resources, label))
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

// ---- session upload ------------------------------------------------------------------------

/// Write `n` DICOM instances of one study (patient `patient`) in two series below `dir`.
fn make_dicom(dir: &Path, patient: &str, n: u32) -> BTreeMap<String, String> {
    use xnat_sim::dicom::{generate, DicomSpec};
    let mut digests = BTreeMap::new();
    for i in 1..=n {
        let series = if i % 2 == 0 { 2 } else { 1 };
        let spec = DicomSpec::mr(patient, 7, series, i);
        let bytes = generate(&spec);
        let sub = dir.join(format!("series{series}"));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("IM{i:04}.dcm")), &bytes).unwrap();
        digests.insert(spec.sop_instance_uid(), md5_hex(&bytes));
    }
    digests
}

/// Every DICOM file of the session labelled `label` in `project`: name → MD5.
fn archived_files(env: &TestEnv, project: &str, label: &str) -> BTreeMap<String, String> {
    env.sim.with_state(|s| {
        let Some(e) = s.experiment_by_label(project, label) else {
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for scan in &e.scans {
            for r in &scan.resources {
                for (name, f) in &r.files {
                    let prev =
                        out.insert(name.trim_end_matches(".dcm").to_string(), f.digest.clone());
                    assert!(prev.is_none(), "duplicate file {name}");
                }
            }
        }
        out
    })
}

fn import_posts(env: &TestEnv) -> usize {
    support::count_requests(env, "POST /data/services/import")
}

fn upload(env: &TestEnv, dir: &Path, label: &str, extra: &[&str]) -> std::process::Output {
    env.cmd()
        .args(["session", "upload"])
        .arg(dir)
        .args(["-P", "DEMO_MR", "-S", "UPSUBJ", "-E", label])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn directory_upload_lands_every_file_and_downloads_back_identical() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("dicom");
    let want = make_dicom(&src, "UP01", 12);
    std::fs::write(src.join("notes.txt"), b"not dicom").unwrap();
    let out = upload(
        &env,
        &src,
        "UP01_MR1",
        &["-w", "3", "--overwrite", "append", "-o", "json"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut s = summary_filters(&env);
    s.add_filter(&regex::escape(&work.path().display().to_string()), "[WORK]");
    s.add_filter(r#""bytes": \d+"#, r#""bytes": [B]"#);
    s.bind(|| insta::assert_snapshot!("session_upload_dir_json", stdout_of(&out)));
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(v["files"], 12);
    assert_eq!(import_posts(&env), 3);
    assert_eq!(archived_files(&env, "DEMO_MR", "UP01_MR1"), want);
    let first = env
        .request_lines()
        .into_iter()
        .find(|l| l.starts_with("POST /data/services/import"))
        .unwrap();
    assert_eq!(
        first,
        "POST /data/services/import?import-handler=DICOM-zip&Ignore-Unparsable=true&project=DEMO_MR&subject=UPSUBJ&session=UP01_MR1&overwrite=append&overwrite_files=true&quarantine=false&triggerPipelines=true&rename=false&inbody=true&Direct-Archive=true"
    );

    // Download it back: byte-identical content.
    let dl = work.path().join("dl");
    let out = env
        .cmd()
        .args([
            "session", "download", "-P", "DEMO_MR", "-E", "UP01_MR1", "--out",
        ])
        .arg(&dl)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut got: Vec<String> = local_digests(&dl).into_values().collect();
    got.sort();
    let mut expected: Vec<String> = want.values().cloned().collect();
    expected.sort();
    assert_eq!(got, expected);
}

#[test]
fn zip_mode_and_table_output() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let want = make_dicom(work.path(), "UP02", 5);
    let out = upload(
        &env,
        work.path(),
        "UP02_MR1",
        &["--mode", "zip", "-w", "2", "--overwrite", "append"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(archived_files(&env, "DEMO_MR", "UP02_MR1"), want);
    let mut s = summary_filters(&env);
    s.add_filter(&regex::escape(&work.path().display().to_string()), "[WORK]");
    s.add_filter(r"(Bytes\s+)\d+", "${1}[B]");
    s.bind(|| insta::assert_snapshot!("session_upload_zip_table", stdout_of(&out)));
    assert!(
        stderr_of(&out).contains("Uploaded 5 files"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn import_503_bursts_are_retried() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let want = make_dicom(work.path(), "UP03", 6);
    env.sim.add_fault(
        xnat_sim::FaultRule::status("POST", "/data/services/import", 503, 3).with_retry_after("0"),
    );
    let out = upload(
        &env,
        work.path(),
        "UP03_MR1",
        &["-w", "2", "--overwrite", "append", "-q"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "batch-1\nbatch-2\n");
    assert_eq!(import_posts(&env), 2 + 3);
    assert_eq!(archived_files(&env, "DEMO_MR", "UP03_MR1"), want);
}

#[test]
fn busy_400_is_retried_but_a_permanent_400_is_not() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    make_dicom(work.path(), "UP04", 2);
    // Project does not exist: the simulator refuses the import; no retries for a 404.
    let out = env
        .cmd()
        .args(["session", "upload"])
        .arg(work.path())
        .args([
            "-P",
            "NOPE",
            "-S",
            "S",
            "-E",
            "E",
            "-w",
            "1",
            "--overwrite",
            "append",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(import_posts(&env), 1, "{:?}", env.request_lines());

    // A 400 without a known permanent cause is treated as "busy" and retried.
    env.clear_requests();
    env.sim.add_fault(xnat_sim::FaultRule::status(
        "POST",
        "/data/services/import",
        400,
        2,
    ));
    let out = upload(
        &env,
        work.path(),
        "UP04_MR1",
        &["-w", "1", "--overwrite", "append"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(import_posts(&env), 3, "{:?}", env.request_lines());
}

#[test]
fn rerunning_an_upload_creates_no_duplicates() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let want = make_dicom(work.path(), "UP05", 9);
    for mode in ["append", "delete", "append"] {
        let out = upload(
            &env,
            work.path(),
            "UP05_MR1",
            &["-w", "4", "--overwrite", mode, "-q"],
        );
        assert!(out.status.success(), "{mode}: {}", stderr_of(&out));
        // archived_files also fails on a file listed twice.
        assert_eq!(archived_files(&env, "DEMO_MR", "UP05_MR1"), want, "{mode}");
    }
    let n = env.sim.with_state(|s| {
        s.experiments
            .values()
            .filter(|e| e.label == "UP05_MR1")
            .count()
    });
    assert_eq!(n, 1);
}

#[test]
fn delete_mode_sends_a_leader_batch_first_so_batches_do_not_wipe_each_other() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let want = make_dicom(work.path(), "UP06", 7);
    let out = upload(&env, work.path(), "UP06_MR1", &["-w", "3", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(archived_files(&env, "DEMO_MR", "UP06_MR1"), want);
    let modes: Vec<String> = env
        .request_lines()
        .iter()
        .filter(|l| l.starts_with("POST /data/services/import"))
        .map(|l| {
            l.split("overwrite=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(modes, ["delete", "append", "append", "append"]);
}

#[test]
fn gradual_mode_posts_one_file_per_request() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let want = make_dicom(work.path(), "UP07", 8);
    let out = upload(
        &env,
        work.path(),
        "UP07_MR1",
        &["--mode", "gradual", "-w", "3", "-o", "json"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(v["files"], 8);
    assert_eq!(v["items"][0]["id"], "gradual-dicom");
    assert_eq!(import_posts(&env), 8);
    assert_eq!(archived_files(&env, "DEMO_MR", "UP07_MR1"), want);
    assert!(env
        .request_lines()
        .iter()
        .any(|l| l.contains("import-handler=gradual-DICOM&PROJECT_ID=DEMO_MR&SUBJECT_ID=UPSUBJ&EXPT_LABEL=UP07_MR1&inbody=true&Direct-Archive=true")));
}

#[test]
fn gradual_stops_after_the_warm_up_when_every_file_fails_the_same_way() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    make_dicom(work.path(), "UP08", 20);
    env.sim.add_fault(xnat_sim::FaultRule::status(
        "POST",
        "/data/services/import",
        403,
        100,
    ));
    let out = upload(
        &env,
        work.path(),
        "UP08_MR1",
        &["--mode", "gradual", "-w", "4"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("warm-up"), "{}", stderr_of(&out));
    assert_eq!(import_posts(&env), 5);
}

#[test]
fn archive_file_upload_and_prearchive_routing() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let want = make_dicom(&src, "UP09", 4);
    let zip_path = work.path().join("exam.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        for rel in support::files_under(&src) {
            z.start_file(rel.as_str(), zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut z, &std::fs::read(src.join(&rel)).unwrap()).unwrap();
        }
        z.finish().unwrap();
    }
    let out = upload(&env, &zip_path, "UP09_MR1", &["--prearchive", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(v["items"][0]["id"], "exam.zip");
    assert_eq!(v["bytes"], std::fs::metadata(&zip_path).unwrap().len());
    assert!(env
        .request_lines()
        .iter()
        .any(|l| l.ends_with("&inbody=true&dest=%2Fprearchive%2Fprojects%2FDEMO_MR")));
    let pre = env.sim.with_state(|s| {
        s.prearchive
            .iter()
            .filter(|e| e.project == "DEMO_MR" && e.session == "UP09_MR1")
            .map(|e| e.scans.iter().map(|sc| sc.files.len()).sum::<usize>())
            .collect::<Vec<_>>()
    });
    assert_eq!(pre, vec![want.len()]);
    assert!(archived_files(&env, "DEMO_MR", "UP09_MR1").is_empty());
}

#[test]
fn dry_run_lists_the_plan_and_sends_nothing() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    make_dicom(work.path(), "UP10", 10);
    let out = upload(
        &env,
        work.path(),
        "UP10_MR1",
        &["-w", "3", "--dry-run", "-o", "json"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut s = insta_settings(&env);
    s.add_filter(&regex::escape(&work.path().display().to_string()), "[WORK]");
    s.add_filter(r#""bytes": \d+"#, r#""bytes": [B]"#);
    s.bind(|| insta::assert_snapshot!("session_upload_dry_run_json", stdout_of(&out)));
    assert!(env.request_lines().is_empty(), "{:?}", env.request_lines());
}

// ---- session upload-exam -------------------------------------------------------------------

#[test]
fn upload_exam_sends_dicom_then_attaches_folders_and_loose_files() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("exam");
    let want = make_dicom(&root.join("dicom"), "UP11", 4);
    std::fs::create_dir_all(root.join("physio/run1")).unwrap();
    std::fs::write(root.join("physio/run1/resp.log"), b"breathing").unwrap();
    std::fs::write(root.join("physio/card.log"), b"heart").unwrap();
    std::fs::write(root.join("report.pdf"), b"%PDF-1.4 report").unwrap();
    std::fs::write(root.join(".DS_Store"), b"junk").unwrap();
    let out = env
        .cmd()
        .args(["session", "upload-exam"])
        .arg(&root)
        .args([
            "-P", "DEMO_MR", "-S", "UPSUBJ", "-E", "UP11_MR1", "-w", "2", "-o", "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut s = insta_settings(&env);
    s.add_filter(&regex::escape(&work.path().display().to_string()), "[WORK]");
    s.bind(|| insta::assert_snapshot!("upload_exam_json", stdout_of(&out)));
    assert_eq!(archived_files(&env, "DEMO_MR", "UP11_MR1"), want);
    let eid = env.sim.with_state(|s| {
        s.experiment_by_label("DEMO_MR", "UP11_MR1")
            .unwrap()
            .id
            .clone()
    });
    assert_eq!(
        session_resource(&env, &eid, "physio"),
        local_digests(&root.join("physio"))
    );
    assert_eq!(
        session_resource(&env, &eid, "MISC"),
        BTreeMap::from([("report.pdf".to_string(), md5_hex(b"%PDF-1.4 report"))])
    );
}

#[test]
fn upload_exam_dry_run_sends_nothing() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    make_dicom(&work.path().join("dicom"), "UP12", 2);
    std::fs::create_dir_all(work.path().join("extra")).unwrap();
    std::fs::write(work.path().join("extra/a.txt"), b"a").unwrap();
    let out = env
        .cmd()
        .args(["session", "upload-exam"])
        .arg(work.path())
        .args([
            "-P",
            "DEMO_MR",
            "-S",
            "UPSUBJ",
            "-E",
            "UP12_MR1",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut s = insta_settings(&env);
    s.add_filter(&regex::escape(&work.path().display().to_string()), "[WORK]");
    s.bind(|| insta::assert_snapshot!("upload_exam_dry_run_table", stdout_of(&out)));
    assert!(env.request_lines().is_empty());
}

#[test]
fn ctrl_c_stops_the_upload_prints_the_summary_and_exits_7() {
    use std::time::Duration;
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    make_dicom(work.path(), "UP13", 6);
    env.sim.add_fault(xnat_sim::FaultRule::latency(
        "POST",
        "/data/services/import",
        10_000,
    ));
    let mut cmd = env.cmd();
    cmd.args(["session", "upload"])
        .arg(work.path())
        .args(["-P", "DEMO_MR", "-S", "UPSUBJ", "-E", "UP13_MR1", "-w", "2"])
        .args(["--overwrite", "append", "-o", "json"]);
    let child = spawn(&cmd);
    wait_for_request(&env, |l| l.starts_with("POST /data/JSESSION"));
    std::thread::sleep(Duration::from_millis(500));
    interrupt(&child);
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr_of(&out));
    assert!(started.elapsed() < Duration::from_secs(5));
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(v["status"], "failed");
    assert_eq!(v["files"], 0);
    let statuses: Vec<(&str, &str)> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["status"].as_str().unwrap(), i["error"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, [("failed", "cancelled"), ("failed", "cancelled")]);
}

#[test]
fn an_expired_session_mid_upload_is_renewed_once_for_all_parallel_batches() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let want = make_dicom(work.path(), "UP14", 12);
    let out = env
        .cmd()
        .env("XNAT_TOKEN", "EXPIRED0000000000000000000000000")
        .args(["session", "upload"])
        .arg(work.path())
        .args(["-P", "DEMO_MR", "-S", "UPSUBJ", "-E", "UP14_MR1", "-w", "4"])
        .args(["--overwrite", "append", "--prearchive", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let logins = support::count_requests(&env, "POST /data/JSESSION");
    assert_eq!(logins, 1, "{:?}", env.request_lines());
    // 4 accepted batches, plus one rejected attempt for each batch sent before the re-login.
    let posts = import_posts(&env);
    assert!((5..=8).contains(&posts), "{posts}");
    let stored: usize = env.sim.with_state(|s| {
        s.prearchive
            .iter()
            .filter(|e| e.session == "UP14_MR1")
            .flat_map(|e| e.scans.iter())
            .map(|sc| sc.files.len())
            .sum()
    });
    assert_eq!(stored, want.len());
}

// ---- every format ----------------------------------------------------------------------------

/// [`support::report`] of `args` in `fmt` snapshotted under `name`, with durations and the
/// run's throughput replaced so the text is stable.
fn snap_transfer(env: &TestEnv, name: &str, args: &[&str], fmt: &str) {
    let text = support::report(env, support::command(env, &support::with_format(args, fmt)));
    let mut s = summary_filters(env);
    s.add_filter(r" in [0-9]+\.[0-9]s\n", " in [D]s\n");
    s.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn session_upload_prints_each_format_and_archives_exactly_the_files() {
    for fmt in support::FORMATS {
        let env = TestEnv::demo();
        let src = env.home.path().join("dicom");
        let want = make_dicom(&src, "UP20", 4);
        let src_arg = src.display().to_string();
        let args = [
            "session", "upload", &src_arg, "-P", "DEMO_MR", "-S", "UPSUBJ", "-E", "UP20_MR1", "-w",
            "1",
        ];
        snap_transfer(&env, &format!("session_upload_report_{fmt}"), &args, fmt);
        assert_eq!(archived_files(&env, "DEMO_MR", "UP20_MR1"), want, "{fmt}");
        assert_eq!(import_posts(&env), 2, "{fmt}");
    }
}

#[test]
fn upload_exam_prints_each_format_and_lands_dicom_folders_and_loose_files() {
    for fmt in support::FORMATS {
        let env = TestEnv::demo();
        let root = env.home.path().join("exam");
        let want = make_dicom(&root.join("dicom"), "UP21", 2);
        std::fs::create_dir_all(root.join("physio")).unwrap();
        std::fs::write(root.join("physio/resp.log"), b"breathing").unwrap();
        std::fs::write(root.join("report.pdf"), b"%PDF-1.4 report").unwrap();
        let root_arg = root.display().to_string();
        let args = [
            "session",
            "upload-exam",
            &root_arg,
            "-P",
            "DEMO_MR",
            "-S",
            "UPSUBJ",
            "-E",
            "UP21_MR1",
            "-w",
            "1",
        ];
        snap_transfer(&env, &format!("upload_exam_report_{fmt}"), &args, fmt);
        assert_eq!(archived_files(&env, "DEMO_MR", "UP21_MR1"), want, "{fmt}");
        let eid = env.sim.with_state(|s| {
            s.experiment_by_label("DEMO_MR", "UP21_MR1")
                .unwrap()
                .id
                .clone()
        });
        assert_eq!(
            session_resource(&env, &eid, "physio"),
            BTreeMap::from([("resp.log".to_string(), md5_hex(b"breathing"))]),
            "{fmt}"
        );
        assert_eq!(
            session_resource(&env, &eid, "MISC"),
            BTreeMap::from([("report.pdf".to_string(), md5_hex(b"%PDF-1.4 report"))]),
            "{fmt}"
        );
    }
}

#[test]
fn resource_upload_prints_each_format_and_stores_exactly_the_file() {
    for fmt in support::FORMATS {
        let env = TestEnv::demo();
        let file = env.home.path().join("notes.txt");
        std::fs::write(&file, b"scan notes\n").unwrap();
        let file_arg = file.display().to_string();
        let args = ["resource", "upload", "-P", "DEMO_MR", "NOTES", &file_arg];
        snap_transfer(&env, &format!("resource_upload_report_{fmt}"), &args, fmt);
        assert_eq!(
            project_resource(&env, "DEMO_MR", "NOTES"),
            BTreeMap::from([("notes.txt".to_string(), md5_hex(b"scan notes\n"))]),
            "{fmt}"
        );
    }
}

// ---- checks after an upload ----------------------------------------------------------------

fn resource_upload(env: &TestEnv, file: &Path, extra: &[&str]) -> std::process::Output {
    env.cmd()
        .args(["resource", "upload", "-P", "DEMO_MR", "NOTES"])
        .arg(file)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn re_uploading_a_changed_file_fails_naming_it_unless_overwrite() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("notes.txt");
    std::fs::write(&file, b"first\n").unwrap();
    assert!(resource_upload(&env, &file, &[]).status.success());
    // The same content again: the server keeps its (identical) copy, which is fine.
    let out = resource_upload(&env, &file, &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));

    std::fs::write(&file, b"second version\n").unwrap();
    let out = resource_upload(&env, &file, &["-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("notes.txt") && err.contains("--overwrite"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "failed");
    assert_eq!(
        project_resource(&env, "DEMO_MR", "NOTES")["notes.txt"],
        md5_hex(b"first\n"),
        "XNAT kept its copy"
    );

    let out = resource_upload(&env, &file, &["--overwrite"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        project_resource(&env, "DEMO_MR", "NOTES")["notes.txt"],
        md5_hex(b"second version\n")
    );
}

#[test]
fn a_file_the_server_did_not_store_fails_the_upload_unless_no_check() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("lost.txt");
    std::fs::write(&file, b"gone\n").unwrap();
    // The server answers 200 without storing anything.
    env.sim
        .add_fault(FaultRule::status("PUT", "*/files/lost.txt", 200, 2));
    let out = resource_upload(&env, &file, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("lost.txt: not on the server"),
        "{}",
        stderr_of(&out)
    );
    let out = resource_upload(&env, &file, &["--no-check"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
}

#[test]
fn a_directory_upload_is_compared_file_by_file() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("notes");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.txt"), b"a\n").unwrap();
    std::fs::write(dir.join("sub/b.txt"), b"b\n").unwrap();
    let out = resource_upload(&env, &dir, &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lists = env
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("GET ") && l.contains("/resources/NOTES/files?"))
        .count();
    assert_eq!(lists, 1, "one listing read back");
    std::fs::write(dir.join("sub/b.txt"), b"b changed\n").unwrap();
    let out = resource_upload(&env, &dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("1 of 2 files") && err.contains("sub/b.txt"),
        "{err}"
    );
}

// ---- checks before and after a session upload ----------------------------------------------

#[test]
fn a_directory_with_two_studies_or_a_repeated_instance_is_refused_unless_yes() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("dicom");
    make_dicom(&src.join("a"), "TWO01", 2);
    for i in 1..=2 {
        let spec = xnat_sim::dicom::DicomSpec::mr("TWO01", 8, 1, i);
        std::fs::create_dir_all(src.join("b")).unwrap();
        std::fs::write(
            src.join(format!("b/IM{i}.dcm")),
            xnat_sim::dicom::generate(&spec),
        )
        .unwrap();
    }
    let out = upload(&env, &src, "TWO_MR1", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("2 studies") && err.contains("--yes"), "{err}");
    assert_eq!(import_posts(&env), 0, "nothing is sent");

    let one = work.path().join("one");
    make_dicom(&one, "REP01", 2);
    std::fs::copy(
        one.join("series1/IM0001.dcm"),
        one.join("series1/IM0001_copy.dcm"),
    )
    .unwrap();
    let out = upload(&env, &one, "REP_MR1", &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("series1/IM0001_copy.dcm has the same SOP Instance UID as series1/IM0001.dcm"),
        "{err}"
    );
    assert_eq!(import_posts(&env), 0);
    let out = upload(&env, &one, "REP_MR1", &["--yes"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(archived_files(&env, "DEMO_MR", "REP_MR1").len(), 2);
}

#[test]
fn an_instance_the_archive_lost_fails_the_upload_unless_no_check() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    make_dicom(work.path(), "LOST01", 4);
    // The import answers 200 to one file without storing it.
    env.sim
        .add_fault(FaultRule::status("POST", "/data/services/import", 200, 1));
    let out = upload(
        &env,
        work.path(),
        "LOST_MR1",
        &["--mode", "gradual", "-w", "1"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("holds 3 DICOM files after the upload of 4 distinct instances"),
        "{}",
        stderr_of(&out)
    );
    env.sim
        .add_fault(FaultRule::status("POST", "/data/services/import", 200, 1));
    let out = upload(
        &env,
        work.path(),
        "LOST_MR2",
        &["--mode", "gradual", "-w", "1", "--no-check"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
}

#[test]
fn upload_exam_fails_naming_a_resource_the_server_did_not_store() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("exam");
    make_dicom(&root.join("dicom"), "UP12", 2);
    std::fs::create_dir_all(root.join("physio")).unwrap();
    std::fs::write(root.join("physio/card.log"), b"heart").unwrap();
    std::fs::write(root.join("report.pdf"), b"%PDF-1.4 report").unwrap();
    env.sim.add_fault(FaultRule::status(
        "PUT",
        "*/resources/MISC/files/MISC.zip",
        200,
        1,
    ));
    let out = env
        .cmd()
        .args(["session", "upload-exam"])
        .arg(&root)
        .args(["-P", "DEMO_MR", "-S", "UPSUBJ", "-E", "UP12_MR1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("resource MISC") && err.contains("report.pdf: not on the server"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_an_archive_is_refused_locally_and_a_bad_archive_is_posted_once() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let notes = work.path().join("notes.txt");
    std::fs::write(&notes, b"just text, not an archive").unwrap();
    let out = upload(&env, &notes, "NA_MR1", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("is not a zip, tar or tar.gz archive"), "{err}");
    assert_eq!(import_posts(&env), 0);

    let broken = work.path().join("broken.zip");
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend_from_slice(&[7u8; 200]);
    std::fs::write(&broken, bytes).unwrap();
    let started = std::time::Instant::now();
    let out = upload(&env, &broken, "NA_MR1", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(import_posts(&env), 1, "a permanent 400 is not repeated");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let err = stderr_of(&out);
    assert!(!err.to_ascii_lowercase().contains("<html"), "{err}");
}

#[test]
fn upload_exam_fails_when_the_archive_lost_an_instance() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("exam");
    make_dicom(&root.join("dicom"), "UP13", 3);
    std::fs::write(root.join("report.pdf"), b"%PDF-1.4 report").unwrap();
    // The import answers 200 to one batch (the one-file leader) without storing it.
    env.sim
        .add_fault(FaultRule::status("POST", "/data/services/import", 200, 1));
    let out = env
        .cmd()
        .args(["session", "upload-exam"])
        .arg(&root)
        .args(["-P", "DEMO_MR", "-S", "UPSUBJ", "-E", "UP13_MR1", "-w", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("holds 2 DICOM files after the upload of 3 distinct instances"),
        "{}",
        stderr_of(&out)
    );
}

// ---- request counts at real-server latency (issue 10) ----------------------------------------

/// The request log without the login, query strings dropped, as `METHOD path` lines.
fn requests_without_login(env: &TestEnv) -> Vec<String> {
    env.request_lines()
        .into_iter()
        .filter(|l| !l.starts_with("POST /data/JSESSION"))
        .map(|l| l.split('?').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn upload_exam_sends_dicom_in_a_few_batches_and_each_resource_in_one_request() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("exam");
    let want = make_dicom(&root.join("dicom"), "UP31", 40);
    for i in 0..12 {
        std::fs::create_dir_all(root.join(format!("physio/run{}", i % 3))).unwrap();
        std::fs::write(
            root.join(format!("physio/run{}/f{i}.log", i % 3)),
            [i as u8; 99],
        )
        .unwrap();
    }
    for i in 0..5 {
        std::fs::write(root.join(format!("note{i}.txt")), [b'n'; 10]).unwrap();
    }
    let out = env
        .cmd()
        .args(["session", "upload-exam"])
        .arg(&root)
        .args(["-P", "DEMO_MR", "-S", "UPSUBJ", "-E", "UP31_MR1", "-w", "3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(archived_files(&env, "DEMO_MR", "UP31_MR1"), want);
    let eid = env.sim.with_state(|s| {
        s.experiment_by_label("DEMO_MR", "UP31_MR1")
            .unwrap()
            .id
            .clone()
    });
    assert_eq!(
        session_resource(&env, &eid, "physio"),
        local_digests(&root.join("physio"))
    );
    assert_eq!(session_resource(&env, &eid, "MISC").len(), 5);
    // 40 DICOM files, 12 + 5 resource files: a one-file leader and 3 import batches, one zip
    // per resource, one listing per resource, the session's lookup and its DICOM listing (the
    // reference: 40 gradual POSTs, a creation PUT per resource).
    let mut got = requests_without_login(&env);
    got.sort();
    let r = format!("/data/projects/DEMO_MR/experiments/{eid}/resources");
    let mut want = vec![
        "GET /xapi/siteConfig/buildInfo/version".to_string(),
        "POST /data/services/import".into(),
        "POST /data/services/import".into(),
        "POST /data/services/import".into(),
        "POST /data/services/import".into(),
        "GET /data/projects/DEMO_MR/experiments/UP31_MR1".into(),
        format!("GET /data/experiments/{eid}/scans/ALL/files"),
        format!("PUT {r}/physio/files/physio.zip"),
        format!("GET {r}/physio/files"),
        format!("PUT {r}/MISC/files/MISC.zip"),
        format!("GET {r}/MISC/files"),
    ];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn upload_exam_mode_gradual_and_a_folder_of_two_studies_go_file_by_file() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("exam");
    make_dicom(&root.join("dicom"), "UP32", 6);
    let run = |label: &str, extra: &[&str]| {
        env.clear_requests();
        let out = env
            .cmd()
            .args(["session", "upload-exam"])
            .arg(&root)
            .args(["-P", "DEMO_MR", "-S", "UPSUBJ", "-E", label])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let lines = env.request_lines();
        let posts: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with("POST /data/services/import"))
            .collect();
        let gradual = posts
            .iter()
            .filter(|l| l.contains("import-handler=gradual-DICOM"))
            .count();
        (posts.len(), gradual)
    };
    assert_eq!(run("UP32_MR1", &["--mode", "gradual"]), (6, 6));
    // A second study in the folder: XNAT's archive import would refuse the batch ("multiple
    // imaging sessions"), so the files go one by one, as the reference sends them.
    std::fs::create_dir_all(root.join("other")).unwrap();
    for i in 1..=2 {
        let spec = xnat_sim::dicom::DicomSpec::mr("UP33", 8, 1, 100 + i);
        std::fs::write(
            root.join(format!("other/IM{i}.dcm")),
            xnat_sim::dicom::generate(&spec),
        )
        .unwrap();
    }
    assert_eq!(run("UP32_MR2", &[]), (8, 8));
}

#[test]
fn resource_upload_of_a_directory_is_two_requests_whatever_its_size() {
    let env = TestEnv::demo();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("nifti");
    for i in 0..60 {
        std::fs::create_dir_all(dir.join(format!("sub{}", i % 4))).unwrap();
        std::fs::write(dir.join(format!("sub{}/v{i}.nii", i % 4)), [i as u8; 300]).unwrap();
    }
    env.clear_requests();
    let out = env
        .cmd()
        .args(["resource", "upload", "XNAT_E00001", "NIFTI"])
        .arg(&dir)
        .args([
            "--scan",
            "2",
            "--format",
            "NIFTI",
            "--content",
            "T1_RAW",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let r = "/data/experiments/XNAT_E00001/scans/2/resources/NIFTI";
    assert_eq!(
        env.request_lines()
            .into_iter()
            .filter(|l| !l.starts_with("POST /data/JSESSION"))
            .collect::<Vec<_>>(),
        [
            format!("PUT {r}/files/nifti.zip?inbody=true&extract=true&format=NIFTI&content=T1_RAW"),
            format!("GET {r}/files?format=json"),
        ]
    );
    // The upload created the resource with its format and content.
    let (format, content, files) = env.sim.with_state(|s| {
        let e = s.experiments.get("XNAT_E00001").unwrap();
        let scan = e.scans.iter().find(|sc| sc.id == "2").unwrap();
        let res = scan.resources.iter().find(|r| r.label == "NIFTI").unwrap();
        (res.format.clone(), res.content.clone(), res.files.len())
    });
    assert_eq!(
        (format.as_str(), content.as_str(), files),
        ("NIFTI", "T1_RAW", 60)
    );
}
