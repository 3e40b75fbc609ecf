//! `scan` commands against the simulator: every output format, and the exact server effects.
use crate::support;

use crate::support::{
    command, insta_settings, run, snap, snap_formats, snap_report, stdout_of, with_format, TestEnv,
    FORMATS,
};

fn scan_ids(env: &TestEnv, e: &str) -> Vec<String> {
    env.sim.with_state(|s| {
        s.experiments[e]
            .scans
            .iter()
            .map(|x| x.id.clone())
            .collect()
    })
}

#[test]
fn list_in_every_format_uses_a_routable_url() {
    let env = TestEnv::demo();
    snap_formats!(
        &env,
        "list",
        &["scan", "list", "-P", "DEMO_MR", "-E", "SUBJ001_MR1"]
    );
    snap!(
        &env,
        "list_quiet",
        &["scan", "list", "-E", "XNAT_E00001", "-q"],
    );
    env.clear_requests();
    run(
        &env,
        &["scan", "list", "-P", "DEMO_MR", "-E", "XNAT_E00001", "-q"],
    );
    assert!(env
        .request_lines()
        .iter()
        .any(|l| l == "GET /data/projects/DEMO_MR/subjects/XNAT_S00001/experiments/XNAT_E00001/scans?format=json"));
}

#[test]
fn show_in_every_format() {
    let env = TestEnv::demo();
    snap_formats!(&env, "show", &["scan", "show", "-E", "XNAT_E00001", "2"]);
    snap!(
        &env,
        "show_quiet",
        &["scan", "show", "-E", "XNAT_E00001", "2", "-q"],
    );
    let (_, code) = run(&env, &["scan", "show", "-E", "XNAT_E00001", "99"]);
    assert_eq!(code, 5);
}

#[test]
fn delete_removes_exactly_the_named_scans() {
    let env = TestEnv::demo();
    snap!(
        &env,
        "delete_dry_run",
        &[
            "scan",
            "delete",
            "-E",
            "XNAT_E00001",
            "--scans",
            "1,3",
            "--dry-run",
        ],
    );
    assert_eq!(scan_ids(&env, "XNAT_E00001"), ["1", "2", "3"]);
    snap!(
        &env,
        "delete_json",
        &[
            "scan",
            "delete",
            "-E",
            "XNAT_E00001",
            "--scans",
            "1",
            "--scans",
            "3",
            "--yes",
            "-o",
            "json",
        ],
    );
    assert_eq!(scan_ids(&env, "XNAT_E00001"), ["2"]);
    snap!(
        &env,
        "delete_all_quiet",
        &[
            "scan",
            "delete",
            "-P",
            "DEMO_MR",
            "-E",
            "SUBJ002_MR1",
            "--scans",
            "*",
            "-w",
            "2",
            "--yes",
            "-q",
        ],
    );
    assert!(scan_ids(&env, "XNAT_E00002").is_empty());
    let audit = std::fs::read_to_string(env.config_dir().join("audit.log")).unwrap();
    assert_eq!(
        audit
            .lines()
            .filter(|l| l.contains("\"scan delete\""))
            .count(),
        3
    );
}

#[test]
fn delete_continues_past_a_failed_item_and_exits_1() {
    let env = TestEnv::demo();
    let (stdout, code) = run(
        &env,
        &[
            "scan",
            "delete",
            "-E",
            "XNAT_E00003",
            "--scans",
            "1,42,3",
            "--yes",
            "-o",
            "tsv",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(scan_ids(&env, "XNAT_E00003"), ["2"]);
    insta_settings(&env).bind(|| insta::assert_snapshot!("delete_partial_tsv", stdout));
}

#[test]
fn show_of_an_unknown_scan_says_scan_not_found_without_a_label_hint() {
    let env = TestEnv::demo();
    let out = env
        .cmd()
        .args(["scan", "show", "-P", "DEMO_MR", "-E", "SUBJ001_MR1", "99"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(stdout_of(&out), "");
    assert_eq!(support::stderr_of(&out), "error: scan not found: 99\n");
}

#[test]
fn delete_prints_each_format_and_removes_exactly_the_named_scans() {
    for fmt in FORMATS {
        let env = TestEnv::demo();
        let args = with_format(
            &[
                "scan",
                "delete",
                "-E",
                "XNAT_E00001",
                "--scans",
                "1,3",
                "-w",
                "1",
                "--yes",
            ],
            fmt,
        );
        // One worker, so the DELETEs reach the log in a fixed order.
        let name = format!("delete_report_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        assert_eq!(scan_ids(&env, "XNAT_E00001"), ["2"], "{fmt}");
    }
}

#[test]
fn delete_dry_run_prints_each_format_and_removes_nothing() {
    for fmt in FORMATS {
        let env = TestEnv::demo();
        let args = with_format(
            &[
                "scan",
                "delete",
                "-E",
                "XNAT_E00001",
                "--scans",
                "1,3",
                "--dry-run",
            ],
            fmt,
        );
        let name = format!("delete_dry_run_report_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        assert_eq!(scan_ids(&env, "XNAT_E00001"), ["1", "2", "3"], "{fmt}");
    }
}
