//! Downloads through archives: one zip per resource streamed and verified entry by entry, the
//! per-file path for what is left, and the requests each kind of run makes (issue 10).

use std::path::Path;

use crate::support::{files_under, stderr_of, TestEnv};
use xnat_sim::FaultRule;

const SCANS: usize = 3;
const FILES: usize = 20;
const SIZE: usize = 4096;
const LABEL: &str = "GEN00001_S0001_MR1";

/// One session of 3 scans × 20 files × 4 KiB.
fn generated() -> TestEnv {
    TestEnv::with(xnat_sim::SimConfig {
        generate: Some(
            format!(
                "projects=1,subjects=1,sessions=1,scans={SCANS},files={FILES},file-size={SIZE}"
            )
            .parse()
            .unwrap(),
        ),
        ..Default::default()
    })
}

fn download(env: &TestEnv, out: &Path) -> assert_cmd::Command {
    let mut cmd = env.cmd();
    cmd.args(["session", "download", "-E", "XNAT_E00001", "--out"])
        .arg(out);
    cmd
}

/// `METHOD path?query` of every request, logins left out (their number depends on the session
/// cache, not on the download).
fn requests(env: &TestEnv) -> Vec<String> {
    env.request_lines()
        .into_iter()
        .filter(|l| !l.contains("/data/JSESSION"))
        .collect()
}

fn scan_dir(out: &Path, scan: usize) -> std::path::PathBuf {
    out.join(format!("{LABEL}/scans/{scan}/resources/DICOM/files"))
}

fn temp_files(out: &Path) -> Vec<String> {
    files_under(out)
        .into_iter()
        .filter(|f| f.ends_with("-part") || f.ends_with(".part"))
        .collect()
}

#[test]
fn request_counts_of_a_fresh_download_a_resume_of_three_files_and_a_complete_rerun() {
    let env = generated();
    let out = env.home.path().join("out");
    let run = download(&env, &out).output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert_eq!(files_under(&out).len(), SCANS * FILES);
    let fresh = requests(&env);
    let zips: Vec<&String> = fresh.iter().filter(|l| l.ends_with("format=zip")).collect();
    assert_eq!(
        zips.len(),
        SCANS,
        "one archive per scan resource: {fresh:#?}"
    );
    assert!(
        zips.iter()
            .all(|l| l.starts_with("GET /data/experiments/XNAT_E00001/scans/")),
        "{zips:?}"
    );
    // Resolve the session, list its scans, list every file once, then the archives.
    assert_eq!(fresh.len(), 3 + SCANS, "{fresh:#?}");
    assert!(fresh
        .iter()
        .any(|l| l.starts_with("GET /data/experiments/XNAT_E00001/scans/ALL/files")));

    // Three files missing (one scan keeps 17 of 20): each fetched on its own.
    for name in ["000003.dcm", "000011.dcm", "000017.dcm"] {
        std::fs::remove_file(scan_dir(&out, 2).join(name)).unwrap();
    }
    env.clear_requests();
    let run = download(&env, &out).output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let resume = requests(&env);
    assert_eq!(resume.len(), 3 + 3, "{resume:#?}");
    assert_eq!(
        resume
            .iter()
            .filter(|l| l.contains("/scans/2/resources/") && !l.contains('?'))
            .count(),
        3,
        "{resume:#?}"
    );

    // Everything present: listings only, no transfer.
    env.clear_requests();
    let run = download(&env, &out).args(["-o", "json"]).output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["bytes"], 0);
    assert_eq!(v["files"], SCANS * FILES);
    assert_eq!(requests(&env).len(), 3, "{:#?}", requests(&env));
}

#[test]
fn a_reset_mid_archive_completes_and_refetches_only_what_was_not_verified() {
    let env = generated();
    // Ten whole entries of scan 2's archive get through, then the connection drops.
    let entry = |f: usize| {
        let name = format!("{LABEL}/scans/2-T1w/resources/DICOM/files/{f:06}.dcm");
        30 + name.len() + SIZE + 16
    };
    let cut: usize = (1..=10).map(entry).sum::<usize>() + 100;
    env.sim.add_fault(FaultRule::reset_after(
        "GET",
        "/data/experiments/XNAT_E00001/scans/2/resources/DICOM/files",
        cut as u64,
        1,
    ));
    let out = env.home.path().join("out");
    let run = download(&env, &out).arg("--verify").output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert_eq!(files_under(&out).len(), SCANS * FILES);
    let singles: Vec<String> = requests(&env)
        .into_iter()
        .filter(|l| l.contains("/scans/2/resources/") && !l.contains('?'))
        .collect();
    let expected: Vec<String> = (11..=FILES).map(|f| format!("{f:06}.dcm")).collect();
    let mut got: Vec<String> = singles
        .iter()
        .map(|l| l.rsplit('/').next().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(got, expected, "only the files after the cut, once each");
    assert!(temp_files(&out).is_empty());
}

#[test]
fn an_archive_entry_with_wrong_bytes_is_never_renamed_and_is_fetched_alone_then_reported() {
    let env = generated();
    // The catalog promises other bytes than the server sends for one file.
    env.sim.with_state_mut(|st| {
        let e = st.experiments.get_mut("XNAT_E00001").unwrap();
        let res = &mut e.scan_mut("1").unwrap().resources[0];
        res.files.get_mut("000005.dcm").unwrap().digest = "0".repeat(32);
    });
    let out = env.home.path().join("out");
    let run = download(&env, &out).output().unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    let err = stderr_of(&run);
    assert!(err.contains("000005.dcm") && err.contains("MD5"), "{err}");
    assert!(!scan_dir(&out, 1).join("000005.dcm").exists());
    assert_eq!(files_under(&out).len(), SCANS * FILES - 1);
    let singles: Vec<String> = requests(&env)
        .into_iter()
        .filter(|l| !l.contains('?') && l.contains("/files/"))
        .collect();
    assert!(
        !singles.is_empty() && singles.iter().all(|l| l.ends_with("/000005.dcm")),
        "only the damaged file is fetched again: {singles:#?}"
    );
    assert!(temp_files(&out).is_empty());
}

#[test]
fn a_server_refusing_archives_gets_per_file_requests_and_one_notice() {
    let env = generated();
    env.sim.add_fault(FaultRule::status(
        "GET",
        "/data/experiments/*/resources/DICOM/files",
        404,
        1000,
    ));
    let out = env.home.path().join("out");
    let run = download(&env, &out).output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert_eq!(files_under(&out).len(), SCANS * FILES);
    let err = stderr_of(&run);
    assert_eq!(err.matches("did not serve the archive").count(), 1, "{err}");
    let r = requests(&env);
    // The archives all went out at once (so each was refused), then every file on its own.
    assert_eq!(
        r.iter().filter(|l| l.ends_with("format=zip")).count(),
        SCANS
    );
    assert_eq!(r.len(), 3 + SCANS + SCANS * FILES, "{r:#?}");
}

#[test]
fn with_one_worker_the_scans_share_one_archive_request() {
    let env = generated();
    let out = env.home.path().join("out");
    let run = download(&env, &out)
        .args(["--workers", "1", "--verify"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert_eq!(files_under(&out).len(), SCANS * FILES);
    let zips: Vec<String> = requests(&env)
        .into_iter()
        .filter(|l| l.ends_with("format=zip"))
        .collect();
    assert_eq!(
        zips,
        ["GET /data/experiments/XNAT_E00001/scans/1,2,3/resources/DICOM/files?format=zip"]
    );
    assert!(temp_files(&out).is_empty());
}

#[test]
fn per_file_engine_still_available_and_counts_one_request_per_file() {
    let env = generated();
    let out = env.home.path().join("out");
    let run = download(&env, &out).arg("--per-file").output().unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let r = requests(&env);
    assert_eq!(r.iter().filter(|l| l.contains("format=zip")).count(), 0);
    assert_eq!(r.len(), 3 + SCANS * FILES, "{r:#?}");
}
