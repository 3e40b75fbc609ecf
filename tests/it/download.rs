//! `session download`, `scan download` and `resource download` against the simulator: the
//! layout on disk, the summary in each format, resume, retries of broken transfers, re-login,
//! verification and dry runs.

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{files_under, insta_settings, md5_file, stderr_of, stdout_of, TestEnv};
use xnat_sim::state::{generated_bytes, md5_hex, FileData, FileEntry, Resource};
use xnat_sim::FaultRule;

const DEMO_FILES: [&str; 5] = [
    "SUBJ001_MR1/resources/NOTES/files/notes.txt",
    "SUBJ001_MR1/scans/1/resources/DICOM/files/1-1.dcm",
    "SUBJ001_MR1/scans/1/resources/DICOM/files/1-2.dcm",
    "SUBJ001_MR1/scans/2/resources/DICOM/files/2-1.dcm",
    "SUBJ001_MR1/scans/2/resources/DICOM/files/2-2.dcm",
];

/// Give scan 3 of `XNAT_E00001` a `BIG` resource with two 256 KiB files (one in a subfolder).
fn add_big_resource(env: &TestEnv) -> BTreeMap<String, String> {
    let mut digests = BTreeMap::new();
    env.sim.with_state_mut(|st| {
        let id = st.next_resource_id();
        let mut files = BTreeMap::new();
        for (name, seed) in [("big1.bin", 11u64), ("sub/big2.bin", 12)] {
            let size = 256 * 1024;
            let digest = md5_hex(&generated_bytes(seed, size));
            digests.insert(name.to_string(), digest.clone());
            files.insert(
                name.to_string(),
                FileEntry {
                    size,
                    digest,
                    content_type: "application/octet-stream".into(),
                    data: FileData::Generated { seed },
                },
            );
        }
        let e = st.experiments.get_mut("XNAT_E00001").unwrap();
        e.scan_mut("3").unwrap().resources.push(Resource {
            id,
            label: "BIG".into(),
            format: "BIN".into(),
            content: "RAW".into(),
            tags: String::new(),
            files,
        });
    });
    digests
}

/// File GETs (catalog URIs), as `path` strings, in request order.
fn file_gets(env: &TestEnv) -> Vec<String> {
    env.sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.query.is_empty() && r.path.contains("/files/"))
        .map(|r| r.path)
        .collect()
}

fn session_download(env: &TestEnv, out: &Path) -> assert_cmd::Command {
    let mut cmd = env.cmd();
    cmd.args(["session", "download", "-E", "SUBJ001_MR1", "-P", "DEMO_MR"])
        .arg("--out")
        .arg(out)
        .arg("--session-resources");
    cmd
}

fn no_part_files(dir: &Path) {
    let parts: Vec<String> = files_under(dir)
        .into_iter()
        .filter(|f| f.ends_with(".part") || f.ends_with("-part"))
        .collect();
    assert!(parts.is_empty(), "left-over partial files: {parts:?}");
}

#[test]
fn session_download_writes_one_layout_and_prints_each_format() {
    let env = TestEnv::demo();
    let out = env.home.path().join("out");
    let run = session_download(&env, &out)
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert_eq!(files_under(&out), DEMO_FILES);
    let served = env.sim.with_state(|st| {
        let e = &st.experiments["XNAT_E00001"];
        e.scan("1").unwrap().resources[0].files["1-1.dcm"]
            .digest
            .clone()
    });
    assert_eq!(
        md5_file(&out.join("SUBJ001_MR1/scans/1/resources/DICOM/files/1-1.dcm")),
        served
    );
    let mut json = insta_settings(&env);
    json.add_filter(
        r#""duration_seconds": [0-9.]+"#,
        r#""duration_seconds": [DURATION]"#,
    );
    json.bind(|| insta::assert_snapshot!("session_download_json", stdout_of(&run)));

    // Everything is present: the table run fetches nothing and says so per item.
    env.clear_requests();
    let run = session_download(&env, &out).output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert!(file_gets(&env).is_empty(), "{:?}", file_gets(&env));
    insta_settings(&env).bind(|| {
        insta::assert_snapshot!("session_download_table", stdout_of(&run));
        insta::assert_snapshot!("session_download_table_stderr", stderr_of(&run));
    });

    let run = session_download(&env, &out).arg("-q").output().unwrap();
    assert_eq!(stdout_of(&run), "1\n2\n3\nresource:NOTES\n");
    let run = session_download(&env, &out)
        .args(["-o", "tsv"])
        .output()
        .unwrap();
    insta_settings(&env).bind(|| insta::assert_snapshot!("session_download_tsv", stdout_of(&run)));
}

#[test]
fn resource_filters_pick_resources_and_scans_are_counted_once() {
    let env = TestEnv::demo();
    add_big_resource(&env);
    let out = env.home.path().join("out");
    let run = env
        .cmd()
        .args([
            "session",
            "download",
            "-E",
            "XNAT_E00001",
            "-r",
            "DICOM",
            "-r",
            "BIG",
            "-o",
            "json",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["scans"], 3, "three scans, not scan x resource tasks");
    assert_eq!(v["files"], 6);
    assert_eq!(v["bytes"], 2 * 256 * 1024 + 4 * 798);
    assert!(files_under(&out).iter().all(|f| !f.contains("NOTES")));

    let out2 = env.home.path().join("out2");
    let run = env
        .cmd()
        .args([
            "session",
            "download",
            "-E",
            "XNAT_E00001",
            "--exclude-resource",
            "DICOM",
        ])
        .arg("--out")
        .arg(&out2)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert_eq!(
        files_under(&out2),
        [
            "SUBJ001_MR1/scans/3/resources/BIG/files/big1.bin",
            "SUBJ001_MR1/scans/3/resources/BIG/files/sub/big2.bin",
        ]
    );

    let run = env
        .cmd()
        .args([
            "session",
            "download",
            "-E",
            "XNAT_E00001",
            "-r",
            "A",
            "--exclude-resource",
            "B",
        ])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
}

#[test]
fn scan_and_resource_download_use_the_same_layout() {
    let env = TestEnv::demo();
    let out = env.home.path().join("out");
    let run = env
        .cmd()
        .args([
            "scan",
            "download",
            "-E",
            "XNAT_E00001",
            "--scans",
            "2",
            "-r",
            "DICOM",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let run = env
        .cmd()
        .args(["resource", "download", "XNAT_E00001", "NOTES"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let run = env
        .cmd()
        .args([
            "resource",
            "download",
            "XNAT_E00001",
            "DICOM",
            "--scan",
            "1",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert_eq!(files_under(&out), DEMO_FILES);

    let run = env
        .cmd()
        .args(["resource", "download", "XNAT_E00001", "NOPE"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(5), "{}", stderr_of(&run));
}

#[test]
fn a_connection_reset_mid_file_costs_one_retry_of_that_file() {
    let env = TestEnv::demo();
    let digests = add_big_resource(&env);
    env.sim.add_fault(FaultRule::reset_after(
        "GET",
        "*/files/big1.bin",
        64 * 1024,
        1,
    ));
    let out = env.home.path().join("out");
    let run = session_download(&env, &out)
        .args(["--verify", "--per-file"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let dir = out.join("SUBJ001_MR1/scans/3/resources/BIG/files");
    assert_eq!(md5_file(&dir.join("big1.bin")), digests["big1.bin"]);
    assert_eq!(md5_file(&dir.join("sub/big2.bin")), digests["sub/big2.bin"]);
    let big1 = file_gets(&env)
        .into_iter()
        .filter(|p| p.ends_with("/big1.bin"))
        .count();
    assert_eq!(big1, 2, "the broken file is fetched again, once");
    assert_eq!(file_gets(&env).len(), 8, "every other file once");
    no_part_files(&out);
}

#[test]
fn bursts_of_503_are_retried() {
    let env = TestEnv::demo();
    env.sim.add_fault(FaultRule::status(
        "GET",
        "/data/experiments/*/files/*",
        503,
        3,
    ));
    let out = env.home.path().join("out");
    let run = session_download(&env, &out).output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert_eq!(files_under(&out), DEMO_FILES);
}

#[test]
fn an_interrupted_download_resumes_with_only_the_missing_files() {
    let env = TestEnv::demo();
    add_big_resource(&env);
    // Permanently broken for this run: every attempt at big2 is cut short.
    env.sim.add_fault(FaultRule::reset_after(
        "GET",
        "*/files/sub/big2.bin",
        1000,
        1000,
    ));
    let out = env.home.path().join("out");
    let run = session_download(&env, &out)
        .args(["-o", "json", "--per-file"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["status"], "partial");
    assert_eq!(v["items"][2]["id"], "3");
    assert_eq!(v["items"][2]["status"], "failed");
    assert_eq!(v["files"], 6);
    let big2 = out.join("SUBJ001_MR1/scans/3/resources/BIG/files/sub/big2.bin");
    assert!(!big2.exists(), "nothing incomplete under a final name");
    no_part_files(&out);
    assert!(stderr_of(&run).contains("3 FAILED"), "{}", stderr_of(&run));

    env.sim.clear_faults();
    env.clear_requests();
    let run = session_download(&env, &out).output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let fetched = file_gets(&env);
    assert_eq!(fetched.len(), 1, "only the missing file: {fetched:?}");
    assert!(fetched[0].ends_with("/files/sub/big2.bin"), "{fetched:?}");
    assert_eq!(files_under(&out).len(), 7);
}

#[test]
fn verify_reports_extra_and_changed_files() {
    let env = TestEnv::demo();
    let out = env.home.path().join("out");
    let run = session_download(&env, &out)
        .arg("--verify")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert!(
        stderr_of(&run).contains("Verified 5 files"),
        "{}",
        stderr_of(&run)
    );

    let dir = out.join("SUBJ001_MR1/scans/1/resources/DICOM/files");
    std::fs::write(dir.join("stray.dcm"), b"not on the server").unwrap();
    let run = session_download(&env, &out)
        .args(["--verify", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["verification"]["matched"], 5);
    assert_eq!(
        v["verification"]["missing_remote"],
        serde_json::json!(["scans/1/resources/DICOM/files/stray.dcm"])
    );
    assert!(stderr_of(&run).contains("EXTRA: scans/1/resources/DICOM/files/stray.dcm"));
}

#[test]
fn a_changed_local_file_is_fetched_again() {
    let env = TestEnv::demo();
    let out = env.home.path().join("out");
    assert!(session_download(&env, &out)
        .output()
        .unwrap()
        .status
        .success());
    let f = out.join("SUBJ001_MR1/scans/2/resources/DICOM/files/2-1.dcm");
    let good = md5_file(&f);
    let mut bytes = std::fs::read(&f).unwrap();
    bytes[200] ^= 0xff;
    std::fs::write(&f, bytes).unwrap();
    env.clear_requests();
    assert!(session_download(&env, &out)
        .output()
        .unwrap()
        .status
        .success());
    assert_eq!(md5_file(&f), good);
    assert_eq!(file_gets(&env).len(), 1);
}

#[test]
fn a_session_expiring_mid_download_logs_in_again_and_carries_on() {
    let env = TestEnv::demo();
    add_big_resource(&env);
    // Slow file transfers leave time to end the session while the run is under way.
    env.sim.add_fault(FaultRule::latency(
        "GET",
        "/data/experiments/*/files/*",
        150,
    ));
    let out = env.home.path().join("out");
    let mut cmd = session_download(&env, &out);
    cmd.args(["--workers", "1", "--per-file"]);
    let child = support::spawn(&cmd);
    support::wait_for_request(&env, |l| {
        l.starts_with("GET ") && l.contains("/files/") && !l.contains('?')
    });
    env.sim.expire_sessions();
    let expired_at = env.sim.requests().len();
    let run = child.wait_with_output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert_eq!(files_under(&out).len(), 7);
    let later = env.sim.requests().split_off(expired_at);
    assert!(
        later.iter().any(|r| r.path == "/data/JSESSION"),
        "a new login after the expiry: {:?}",
        later.iter().map(|r| r.path.clone()).collect::<Vec<_>>()
    );
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let env = TestEnv::demo();
    let out = env.home.path().join("not-created");
    let run = session_download(&env, &out)
        .args(["--dry-run", "-o", "json"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert!(!out.exists(), "a dry run creates nothing");
    assert!(file_gets(&env).is_empty());
    insta_settings(&env)
        .bind(|| insta::assert_snapshot!("session_download_dry_run", stdout_of(&run)));
    let run = session_download(&env, &out)
        .arg("--dry-run")
        .output()
        .unwrap();
    insta_settings(&env).bind(|| {
        insta::assert_snapshot!("session_download_dry_run_table", stdout_of(&run));
    });
}

#[test]
fn ctrl_c_stops_cleanly_with_exit_7_and_no_partial_files() {
    let env = TestEnv::demo();
    add_big_resource(&env);
    env.sim
        .add_fault(FaultRule::latency("GET", "/data/experiments/*/files*", 300));
    let out = env.home.path().join("out");
    let mut cmd = session_download(&env, &out);
    cmd.args(["--workers", "1", "-o", "json"]);
    let child = support::spawn(&cmd);
    // The first transfer (an archive or a single file) has been answered.
    support::wait_for_request(&env, |l| {
        l.starts_with("GET ") && l.contains("/files") && !l.contains("format=json")
    });
    support::interrupt(&child);
    let run = child.wait_with_output().unwrap();
    assert_eq!(run.status.code(), Some(7), "{}", stderr_of(&run));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_ne!(v["status"], "success", "the summary is printed and says so");
    no_part_files(&out);
    assert!(files_under(&out).len() < 7);
}

#[test]
fn resume_trusts_the_manifest_only_while_size_and_mtime_match() {
    let env = TestEnv::demo();
    let out = env.home.path().join("out");
    let run = session_download(&env, &out).output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let before = file_gets(&env).len();
    let rel = "SUBJ001_MR1/scans/1/resources/DICOM/files/1-1.dcm";
    let path = out.join(rel);
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 0xff;

    // Same size and mtime: the manifest vouches, nothing is fetched (only --verify re-reads).
    std::fs::write(&path, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let run = session_download(&env, &out).output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert_eq!(file_gets(&env).len(), before);
    let run = session_download(&env, &out)
        .arg("--verify")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr_of(&run).contains(&format!("MISMATCH: {}", &rel[12..])));
    no_part_files(&out);
}

#[test]
fn a_verify_mismatch_fails_the_item_and_the_next_run_fetches_the_file_again() {
    let env = TestEnv::demo();
    let out = env.home.path().join("out");
    let run = session_download(&env, &out).output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let before = file_gets(&env).len();
    let rel = "SUBJ001_MR1/scans/1/resources/DICOM/files/1-1.dcm";
    let path = out.join(rel);
    let good = std::fs::read(&path).unwrap();
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut bytes = good.clone();
    bytes[0] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();

    let run = session_download(&env, &out)
        .args(["--verify", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["status"], "partial", "{v}");
    let item = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "1")
        .unwrap();
    assert_eq!(item["status"], "failed");
    assert!(
        item["error"].as_str().unwrap().contains("1-1.dcm"),
        "{item}"
    );
    assert_eq!(file_gets(&env).len(), before, "verify only reads");

    // The manifest no longer vouches: the plain re-run hashes, finds the change and refetches.
    let run = session_download(&env, &out).output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let gets = file_gets(&env);
    assert_eq!(gets.len(), before + 1);
    assert!(gets.last().unwrap().ends_with("/1-1.dcm"), "{gets:?}");
    assert_eq!(std::fs::read(&path).unwrap(), good);
}

#[test]
fn concurrent_runs_into_one_out_all_end_with_every_file_verified() {
    let env = TestEnv::demo();
    let digests = add_big_resource(&env);
    env.sim
        .add_fault(FaultRule::latency("GET", "/data/experiments/*/files/*", 20));
    let out = env.home.path().join("out");
    // A killed run's leftover, as a SIGKILL mid-file leaves it.
    let dir = out.join("SUBJ001_MR1/scans/3/resources/BIG/files");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".big1.bin.Ab3dEf9h.xnatctl-part"), b"trunc").unwrap();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let mut cmd = session_download(&env, &out);
            cmd.args(["--workers", "2", "-o", "json", "--per-file"]);
            support::spawn(&cmd)
        })
        .collect();
    for child in runs {
        let run = child.wait_with_output().unwrap();
        assert!(run.status.success(), "{}", stderr_of(&run));
        let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(v["status"], "success");
        assert_eq!(v["files"], 7);
    }
    assert_eq!(md5_file(&dir.join("big1.bin")), digests["big1.bin"]);
    assert_eq!(md5_file(&dir.join("sub/big2.bin")), digests["sub/big2.bin"]);
    assert_eq!(files_under(&out).len(), 7, "{:?}", files_under(&out));
    for (rel, digest) in served_digests(&env) {
        assert_eq!(md5_file(&out.join(&rel)), digest, "{rel}");
    }
    // The runs took turns: every file was fetched once, by the first run.
    assert_eq!(file_gets(&env).len(), 7);
}

#[cfg(unix)]
#[test]
fn a_planted_part_symlink_is_never_followed() {
    let env = TestEnv::demo();
    let out = env.home.path().join("out");
    let victim = env.home.path().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let dir = out.join("SUBJ001_MR1/scans/1/resources/DICOM/files");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("1-1.dcm.part")).unwrap();
    let run = session_download(&env, &out).output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    let dest = dir.join("1-1.dcm");
    assert!(!std::fs::symlink_metadata(&dest).unwrap().is_symlink());
    let served = served_digests(&env);
    assert_eq!(
        md5_file(&dest),
        served["SUBJ001_MR1/scans/1/resources/DICOM/files/1-1.dcm"]
    );
}

#[test]
fn catalog_paths_that_collide_fail_their_item_with_exit_1() {
    let env = TestEnv::demo();
    env.sim.with_state_mut(|st| {
        let e = st.experiments.get_mut("XNAT_E00001").unwrap();
        let files = &mut e.scan_mut("1").unwrap().resources[0].files;
        let mut twin = files["1-1.dcm"].clone();
        twin.data = FileData::Generated { seed: 99 };
        twin.digest = md5_hex(&generated_bytes(99, twin.size));
        files.insert("1-1.DCM".into(), twin);
    });
    let out = env.home.path().join("out");
    let run = session_download(&env, &out)
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["status"], "partial");
    let items = v["items"].as_array().unwrap();
    let one = items.iter().find(|i| i["id"] == "1").unwrap();
    assert_eq!(one["status"], "failed");
    let err = one["error"].as_str().unwrap();
    assert!(err.contains("1-1.") && err.contains("same path"), "{err}");
    assert!(items
        .iter()
        .filter(|i| i["id"] != "1")
        .all(|i| i["status"] == "success"));
    assert!(stderr_of(&run).contains("1 FAILED"), "{}", stderr_of(&run));
    let files = files_under(&out);
    assert!(files.iter().all(|f| !f.contains("/1-1.")), "{files:?}");
    assert!(files.contains(&"SUBJ001_MR1/scans/1/resources/DICOM/files/1-2.dcm".to_string()));
}

#[test]
fn resource_download_output_file_streams_one_zip() {
    let env = TestEnv::demo();
    let zip_path = env.home.path().join("notes.zip");
    let run = env
        .cmd()
        .args([
            "resource",
            "download",
            "XNAT_E00001",
            "DICOM",
            "--scan",
            "1",
        ])
        .arg("-f")
        .arg(&zip_path)
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let doc: serde_json::Value = serde_json::from_str(&stdout_of(&run)).unwrap();
    let len = std::fs::metadata(&zip_path).unwrap().len();
    assert_eq!(doc["bytes"], serde_json::json!(len));
    assert_eq!(doc["resource"], "DICOM");
    assert_eq!(doc["scan"], "1");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().to_string())
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|n| n.contains("1-")),
        "{names:?}"
    );
    assert!(env.sim.requests().iter().any(|r| r.method == "GET"
        && r.path == "/data/experiments/XNAT_E00001/scans/1/resources/DICOM/files"
        && r.query.contains("format=zip")));
    assert!(files_under(env.home.path())
        .iter()
        .all(|f| !f.ends_with(".part")));

    // The deprecated --file still works, with a warning; -q prints the path.
    let other = env.home.path().join("notes2.zip");
    let run = env
        .cmd()
        .args([
            "-q",
            "resource",
            "download",
            "XNAT_E00001",
            "DICOM",
            "--scan",
            "1",
        ])
        .arg("--file")
        .arg(&other)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert!(stderr_of(&run).contains("--file is deprecated"));
    assert_eq!(stdout_of(&run).trim(), other.display().to_string());
    assert_eq!(
        std::fs::read(&other).unwrap(),
        std::fs::read(&zip_path).unwrap()
    );
}

#[test]
fn subject_narrows_the_session_lookup() {
    let env = TestEnv::demo();
    let out = env.home.path().join("out");
    let scan = |extra: &[&str]| {
        env.cmd()
            .args(["scan", "download", "-E", "SUBJ001_MR1", "--scans", "1"])
            .args(extra)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let run = scan(&["-P", "DEMO_MR", "-S", "SUBJ002"]);
    assert_eq!(run.status.code(), Some(5), "{}", stderr_of(&run));
    assert!(!out.exists());
    let run = scan(&["-S", "SUBJ001"]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr_of(&run));
    let run = scan(&["-P", "DEMO_MR", "-S", "SUBJ001", "--no-extract"]);
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert!(stderr_of(&run).contains("--no-extract is ignored"));
    assert!(files_under(&out)
        .iter()
        .all(|f| f.starts_with("SUBJ001_MR1/scans/1/resources/")));
    assert!(!files_under(&out).is_empty());

    let run = session_download(&env, &out)
        .arg("--extract")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert!(!stderr_of(&run).contains("ignored"));
    assert_eq!(files_under(&out), DEMO_FILES);
}

#[test]
fn resource_download_output_file_prints_each_format() {
    for fmt in support::FORMATS {
        let env = TestEnv::demo();
        let zip_path = env.home.path().join(format!("dicom-{fmt}.zip"));
        let zip_arg = zip_path.display().to_string();
        let args = support::with_format(
            &[
                "resource",
                "download",
                "XNAT_E00001",
                "DICOM",
                "--scan",
                "1",
                "-f",
                &zip_arg,
            ],
            fmt,
        );
        let name = format!("resource_download_file_{fmt}");
        support::snap_report!(&env, name.as_str(), support::command(&env, &args));
        // The printed MD5 (in the snapshot) is the MD5 of the file written.
        assert_eq!(
            md5_file(&zip_path),
            "1a7a1c8fc4a5d48d9ff14bdf120d880b",
            "{fmt}"
        );
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
        let mut names: Vec<String> = (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().to_string())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "SUBJ001_MR1/scans/1-Localizer/resources/DICOM/files/1-1.dcm",
                "SUBJ001_MR1/scans/1-Localizer/resources/DICOM/files/1-2.dcm"
            ],
            "{fmt}"
        );
        let written: Vec<String> = files_under(env.home.path())
            .into_iter()
            .filter(|f| !f.starts_with(".config/"))
            .collect();
        assert_eq!(
            written,
            [format!("dicom-{fmt}.zip")],
            "only the zip, no .part"
        );
    }
}

/// [`support::report`] of `args` in `fmt` snapshotted under `name`, with the run's duration
/// (json field, table row, tsv cell) replaced so the text is stable.
fn snap_transfer(env: &TestEnv, name: &str, args: &[&str], fmt: &str) {
    let text = support::report(env, support::command(env, &support::with_format(args, fmt)));
    let mut s = insta_settings(env);
    s.add_filter(
        r#""duration_seconds": [0-9.]+"#,
        r#""duration_seconds": [D]"#,
    );
    s.add_filter(r"(Duration Seconds\s+)[0-9.]+", "${1}[D]");
    s.bind(|| insta::assert_snapshot!(name, text));
}

/// Served files of `XNAT_E00001` (session resources and scans 1 and 2) → MD5, keyed by their
/// path in the download layout.
fn served_digests(env: &TestEnv) -> BTreeMap<String, String> {
    env.sim.with_state(|st| {
        let e = &st.experiments["XNAT_E00001"];
        let mut out = BTreeMap::new();
        for scan in ["1", "2"] {
            for r in &e.scan(scan).unwrap().resources {
                for (name, f) in &r.files {
                    out.insert(
                        format!(
                            "SUBJ001_MR1/scans/{scan}/resources/{}/files/{name}",
                            r.label
                        ),
                        f.digest.clone(),
                    );
                }
            }
        }
        for r in &e.resources {
            for (name, f) in &r.files {
                out.insert(
                    format!("SUBJ001_MR1/resources/{}/files/{name}", r.label),
                    f.digest.clone(),
                );
            }
        }
        out
    })
}

#[test]
fn scan_download_prints_each_format_and_writes_exactly_the_scans_files() {
    for fmt in support::FORMATS {
        let env = TestEnv::demo();
        let out = env.home.path().join("out");
        let out_arg = out.display().to_string();
        let args = [
            "scan",
            "download",
            "-E",
            "XNAT_E00001",
            "--scans",
            "1,2",
            "--out",
            &out_arg,
        ];
        snap_transfer(&env, &format!("scan_download_{fmt}"), &args, fmt);
        let want: BTreeMap<String, String> = served_digests(&env)
            .into_iter()
            .filter(|(k, _)| k.contains("/scans/"))
            .collect();
        assert_eq!(want.len(), 4, "{fmt}");
        assert_eq!(support::local_digests(&out), want, "{fmt}");
    }
}

#[test]
fn resource_download_prints_each_format_and_writes_exactly_the_resource_files() {
    for fmt in support::FORMATS {
        let env = TestEnv::demo();
        let out = env.home.path().join("out");
        let out_arg = out.display().to_string();
        let args = [
            "resource",
            "download",
            "XNAT_E00001",
            "NOTES",
            "--out",
            &out_arg,
        ];
        snap_transfer(&env, &format!("resource_download_{fmt}"), &args, fmt);
        let want: BTreeMap<String, String> = served_digests(&env)
            .into_iter()
            .filter(|(k, _)| k.starts_with("SUBJ001_MR1/resources/NOTES/"))
            .collect();
        assert_eq!(want.len(), 1, "{fmt}");
        assert_eq!(support::local_digests(&out), want, "{fmt}");
    }
}

#[test]
fn a_reset_while_reading_a_listing_is_retried() {
    let env = TestEnv::demo();
    env.sim.add_fault(FaultRule::reset_after(
        "GET",
        "/data/experiments/*/scans/ALL/files",
        20,
        1,
    ));
    env.sim.add_fault(FaultRule::reset_after(
        "GET",
        "/data/experiments/*/scans",
        20,
        1,
    ));
    let out = env.home.path().join("out");
    let run = session_download(&env, &out).output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert_eq!(files_under(&out), DEMO_FILES);
    let listings = env
        .request_lines()
        .iter()
        .filter(|l| l.starts_with("GET ") && l.contains("/scans/ALL/files?format=json"))
        .count();
    assert_eq!(listings, 2, "the broken listing is read again, once");
}

#[test]
fn a_transfer_that_drips_is_abandoned_as_stalled() {
    let env = TestEnv::demo();
    add_big_resource(&env);
    // 200 bytes a second: never silent, so the read timeout never fires. The resource's archive
    // drips too, so the engine falls back to single files, where big1.bin drips again.
    env.sim
        .add_fault(FaultRule::bandwidth("GET", "*/resources/BIG/files", 200));
    env.sim
        .add_fault(FaultRule::bandwidth("GET", "*/files/big1.bin", 200));
    let out = env.home.path().join("out");
    let started = std::time::Instant::now();
    let run = session_download(&env, &out)
        .args(["--stall-seconds", "1", "--attempts", "1", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let three = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "3")
        .unwrap();
    assert!(
        three["error"]
            .as_str()
            .unwrap()
            .contains("big1.bin: stalled"),
        "{three}"
    );
    assert!(!out
        .join("SUBJ001_MR1/scans/3/resources/BIG/files/big1.bin")
        .exists());
    no_part_files(&out);
}

#[test]
fn a_session_that_expires_and_cannot_be_renewed_stops_the_run_with_exit_3() {
    let env = TestEnv::demo();
    // 40 more files, so a run that does not stop would send many more requests.
    env.sim.with_state_mut(|st| {
        let id = st.next_resource_id();
        let mut files = BTreeMap::new();
        for i in 0..40u64 {
            let size = 1024;
            files.insert(
                format!("f{i}.bin"),
                FileEntry {
                    size,
                    digest: md5_hex(&generated_bytes(i, size)),
                    content_type: "application/octet-stream".into(),
                    data: FileData::Generated { seed: i },
                },
            );
        }
        let e = st.experiments.get_mut("XNAT_E00001").unwrap();
        e.scan_mut("3").unwrap().resources.push(Resource {
            id,
            label: "MANY".into(),
            format: "BIN".into(),
            content: "RAW".into(),
            tags: String::new(),
            files,
        });
    });
    env.sim.add_fault(FaultRule::latency(
        "GET",
        "/data/experiments/*/files/*",
        100,
    ));
    let out = env.home.path().join("out");
    let mut cmd = session_download(&env, &out);
    cmd.args(["--workers", "2", "--per-file"]);
    let child = support::spawn(&cmd);
    support::wait_for_request(&env, |l| {
        l.starts_with("GET ") && l.contains("/files/") && !l.contains('?')
    });
    // From now on the session is gone and logging in again is refused.
    env.sim
        .add_fault(FaultRule::status("POST", "/data/JSESSION", 401, 1000));
    env.sim.expire_sessions();
    let expired_at = env.sim.requests().len();
    let run = child.wait_with_output().unwrap();
    assert_eq!(run.status.code(), Some(3), "{}", stderr_of(&run));
    assert!(
        stderr_of(&run).contains("stopped the download"),
        "{}",
        stderr_of(&run)
    );
    let later = env.sim.requests().len() - expired_at;
    assert!(later <= 8, "{later} requests after the session expired");
    no_part_files(&out);
}

#[test]
fn sigterm_stops_like_ctrl_c_with_exit_7_and_no_partial_files() {
    let env = TestEnv::demo();
    add_big_resource(&env);
    env.sim.add_fault(FaultRule::latency(
        "GET",
        "/data/experiments/*/files/*",
        300,
    ));
    let out = env.home.path().join("out");
    let mut cmd = session_download(&env, &out);
    cmd.args(["--workers", "1", "--per-file", "-o", "json"]);
    let child = support::spawn(&cmd);
    support::wait_for_request(&env, |l| {
        l.starts_with("GET ") && l.contains("/files/") && !l.contains('?')
    });
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let run = child.wait_with_output().unwrap();
    assert_eq!(run.status.code(), Some(7), "{}", stderr_of(&run));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_ne!(v["status"], "success", "the summary is printed");
    no_part_files(&out);
}

#[test]
fn workers_outside_1_to_100_is_a_usage_error() {
    let env = TestEnv::demo();
    let out = env.home.path().join("out");
    for n in ["0", "101"] {
        let run = session_download(&env, &out)
            .args(["--workers", n])
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{n}: {}", stderr_of(&run));
        assert!(stderr_of(&run).contains("1..=100"), "{}", stderr_of(&run));
    }
    assert!(env.request_lines().is_empty());
}
