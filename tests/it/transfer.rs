//! `project transfer*` between two simulators: the source (the TestEnv's) and a destination.

use std::collections::BTreeMap;

use serde_json::Value;
use xnat_sim::{FaultRule, SimConfig, SimHandle};

use crate::support::{stderr_of, stdout_of, TestEnv};

/// A source with project SRC (`counts` = subjects, sessions, scans, files) and an empty
/// destination project DST.
fn two_sims(counts: (u32, u32, u32, u32)) -> (TestEnv, SimHandle) {
    let env = TestEnv::empty();
    env.sim.with_state_mut(|st| {
        xnat_sim::fixture::dicom_project(st, "SRC", counts, 0);
    });
    let dst = SimHandle::spawn(SimConfig::default()).expect("destination starts");
    dst.with_state_mut(|st| {
        st.projects
            .insert("DST".into(), xnat_sim::state::Project::new("DST", "admin"));
    });
    (env, dst)
}

fn transfer(env: &TestEnv, dst: &SimHandle, extra: &[&str]) -> std::process::Output {
    let mut cmd = env.cmd();
    cmd.args([
        "project",
        "transfer",
        "-P",
        "SRC",
        "--dest-project",
        "DST",
        "--dest-url",
        &dst.base_url(),
        "--dest-user",
        "admin",
        "--dest-pass-stdin",
        "-y",
        "-o",
        "json",
    ])
    .args(extra)
    .write_stdin("admin\n");
    cmd.output().expect("runs")
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout_of(out)).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            stdout_of(out),
            stderr_of(out)
        )
    })
}

/// Session label → (subject label, scan id → DICOM file count) in `project`.
fn sessions_of(
    sim: &SimHandle,
    project: &str,
) -> BTreeMap<String, (String, BTreeMap<String, usize>)> {
    sim.with_state(|st| {
        st.experiments
            .values()
            .filter(|e| e.project == project)
            .map(|e| {
                let subject = st.subjects[&e.subject_id].label.clone();
                let scans = e
                    .scans
                    .iter()
                    .map(|s| {
                        let n = s
                            .resources
                            .iter()
                            .filter(|r| r.label == "DICOM")
                            .map(|r| r.files.len())
                            .sum();
                        (s.id.clone(), n)
                    })
                    .collect();
                (e.label.clone(), (subject, scans))
            })
            .collect()
    })
}

fn writes(sim: &SimHandle) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.path.ends_with("/JSESSION"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn a_project_is_copied_then_only_what_changed_is_copied_again() {
    let (env, dst) = two_sims((20, 2, 3, 2));
    let out = transfer(&env, &dst, &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr_of(&out));
    let r = json(&out);
    assert_eq!(r["experiments_synced"], 40);
    assert_eq!(r["subjects_synced"], 20);
    assert_eq!(r["success"], true);
    let want = sessions_of(&env.sim, "SRC");
    assert_eq!(want.len(), 40);
    assert_eq!(sessions_of(&dst, "DST"), want);

    // Unchanged: nothing is written anywhere.
    env.clear_requests();
    dst.clear_requests();
    let out = transfer(&env, &dst, &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr_of(&out));
    let r = json(&out);
    assert_eq!(r["experiments_synced"], 0);
    assert_eq!(r["experiments_skipped"], 40);
    assert_eq!(r["subjects_skipped"], 20);
    assert_eq!(writes(&dst), Vec::<String>::new());
    assert_eq!(writes(&env.sim), Vec::<String>::new());

    // Two sessions lost on the destination, one new at the source: exactly those three.
    dst.with_state_mut(|st| {
        let gone: Vec<String> = st
            .experiments
            .values()
            .filter(|e| e.label == "SRC_S03_MR1" || e.label == "SRC_S07_MR2")
            .map(|e| e.id.clone())
            .collect();
        for id in gone {
            st.experiments.remove(&id);
        }
    });
    env.sim.with_state_mut(|st| {
        let sid = st.subject_by_label("SRC", "SRC_S05").unwrap().id.clone();
        xnat_sim::fixture::add_dicom_session(st, "SRC", &sid, "SRC_S05_MR3", 500, 3, 2);
    });
    dst.clear_requests();
    let out = transfer(&env, &dst, &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr_of(&out));
    let r = json(&out);
    assert_eq!(r["experiments_synced"], 3);
    assert_eq!(r["experiments_skipped"], 38);
    assert_eq!(sessions_of(&dst, "DST"), sessions_of(&env.sim, "SRC"));
    let mut imported: Vec<String> = dst
        .requests()
        .into_iter()
        .filter(|r| r.path == "/data/services/import")
        .map(|r| {
            let q = r.query.clone();
            let session = q
                .split('&')
                .find_map(|kv| kv.strip_prefix("session="))
                .unwrap_or_default()
                .to_string();
            session
        })
        .collect();
    imported.dedup();
    assert_eq!(imported.len(), 3, "{imported:?}");
}

#[test]
fn a_503_burst_on_the_destination_fails_items_and_a_rerun_completes_them_without_duplicates() {
    let (env, dst) = two_sims((3, 1, 2, 2));
    // More 503s than the client's and the import ladder's retries: the first imports fail.
    dst.add_fault(FaultRule::status("POST", "/data/services/import", 503, 40));
    let out = transfer(&env, &dst, &[]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr_of(&out));
    let r = json(&out);
    assert_eq!(r["success"], false);
    assert!(r["experiments_failed"].as_u64().unwrap() >= 1, "{r}");
    dst.clear_faults();
    let out = transfer(&env, &dst, &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr_of(&out));
    assert_eq!(sessions_of(&dst, "DST"), sessions_of(&env.sim, "SRC"));
}

#[test]
fn a_reset_on_the_source_mid_scan_is_retried_or_reported_and_never_duplicates() {
    let (env, dst) = two_sims((2, 1, 2, 3));
    env.sim.add_fault(FaultRule::reset_after(
        "GET",
        "/data/experiments/*/scans/*/resources/DICOM/files",
        100,
        20,
    ));
    let first = transfer(&env, &dst, &[]);
    env.sim.clear_faults();
    let out = transfer(&env, &dst, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "first: {}\nsecond: {}",
        stderr_of(&first),
        stderr_of(&out)
    );
    assert_eq!(sessions_of(&dst, "DST"), sessions_of(&env.sim, "SRC"));
}

#[test]
fn status_and_history_read_the_journal() {
    let (env, dst) = two_sims((1, 1, 1, 1));
    let out = env
        .cmd()
        .args(["project", "transfer-status", "-P", "SRC"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("No transfer history found"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(transfer(&env, &dst, &[]).status.code(), Some(0));
    assert_eq!(transfer(&env, &dst, &[]).status.code(), Some(0));
    let out = env
        .cmd()
        .args(["project", "transfer-status", "-P", "SRC", "-o", "json"])
        .output()
        .unwrap();
    let s = json(&out);
    assert_eq!(s["sync_id"], 2);
    assert_eq!(s["status"], "completed");
    assert_eq!(s["subjects_skipped"], 1);
    assert_eq!(s["dest_project"], "DST");
    let out = env
        .cmd()
        .args(["project", "transfer-history", "-P", "SRC", "-q"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), "2\n1\n");
    let out = env
        .cmd()
        .args(["project", "transfer-history", "-P", "OTHER"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("No transfers found for OTHER"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.config_dir().join("transfer.journal"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_dry_run_writes_nothing_and_says_what_it_would_copy() {
    let (env, dst) = two_sims((2, 1, 1, 1));
    let out = transfer(&env, &dst, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr_of(&out));
    let r = json(&out);
    assert_eq!(r["dry_run"], true);
    assert_eq!(r["experiments_synced"], 2);
    assert_eq!(writes(&dst), Vec::<String>::new());
    assert!(!env.config_dir().join("transfer.journal").exists());
    assert!(stderr_of(&out).contains("would copy SRC_S01 / SRC_S01_MR1"));
}

#[test]
fn a_password_value_and_a_missing_destination_are_refused() {
    let env = TestEnv::empty();
    let out = env
        .cmd()
        .args([
            "project",
            "transfer",
            "-P",
            "SRC",
            "--dest-project",
            "DST",
            "--dest-url",
            "http://x",
            "--dest-pass",
            "secret",
            "-y",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = env
        .cmd()
        .args([
            "project",
            "transfer",
            "-P",
            "SRC",
            "--dest-project",
            "DST",
            "-y",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("Destination not specified"));
}

#[test]
fn transfer_init_prints_the_reference_scaffold() {
    let env = TestEnv::empty();
    let out = env
        .bare_cmd()
        .args(["project", "transfer-init", "-P", "A", "--dest-project", "B"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(stdout_of(&out), @r"
    source_project: A
    dest_project: B
    sync_new_only: true
    max_failures: 5
    scan_retry_count: 3
    scan_retry_delay: 5.0
    verify_after_transfer: true
    transfer_xml_metadata: true
    scan_workers: 4
    max_pending_archives: 5
    archive_wait_timeout: 10800.0
    archive_poll_interval: 5.0
    filtering:
      imaging_sessions:
        sync_type: all
        xsi_types: []
    ");
}

#[test]
fn transfer_check_reports_both_sides_and_fails_on_a_missing_project() {
    let (env, dst) = two_sims((1, 1, 1, 1));
    let run = |project: &str| {
        env.cmd()
            .args([
                "project",
                "transfer-check",
                "-P",
                "SRC",
                "--dest-project",
                project,
                "--dest-url",
                &dst.base_url(),
                "--dest-user",
                "admin",
                "--dest-pass-stdin",
                "-o",
                "tsv",
            ])
            .write_stdin("admin\n")
            .output()
            .unwrap()
    };
    let out = run("DST");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let statuses: Vec<String> = stdout_of(&out)
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            format!("{} {}", c[0], c[1])
        })
        .collect();
    assert_eq!(
        statuses,
        [
            "Source connectivity PASS",
            "Source auth PASS",
            "Source project PASS",
            "Dest connectivity PASS",
            "Dest auth PASS",
            "Dest project PASS",
            "Dest direct archive PASS"
        ]
    );
    assert_eq!(writes(&dst), Vec::<String>::new());
    let out = run("NOPE");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout_of(&out).contains("Dest project\tFAIL"),
        "{}",
        stdout_of(&out)
    );
}

#[test]
fn ctrl_c_stops_cleanly_with_exit_7_and_a_rerun_completes_the_copy() {
    let (env, dst) = two_sims((4, 1, 2, 1));
    dst.add_fault(FaultRule::latency("POST", "/data/services/import", 150));
    // A destination profile: the child's stdin is not piped.
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        env.config_file(),
        format!(
            "default_profile: dest\nprofiles:\n  dest:\n    url: {}\n    username: admin\n    password: admin\n",
            dst.base_url()
        ),
    )
    .unwrap();
    let mut cmd = env.cmd();
    cmd.args([
        "project",
        "transfer",
        "-P",
        "SRC",
        "--dest-project",
        "DST",
        "--dest-profile",
        "dest",
        "-y",
        "-o",
        "json",
    ]);
    let child = crate::support::spawn(&cmd);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !dst
        .requests()
        .iter()
        .any(|r| r.path == "/data/services/import")
    {
        assert!(std::time::Instant::now() < deadline, "no import started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    crate::support::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7), "stderr: {}", stderr_of(&out));
    let status = env
        .cmd()
        .args(["project", "transfer-status", "-P", "SRC", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(json(&status)["status"], "interrupted");
    dst.clear_faults();
    let out = transfer(&env, &dst, &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr_of(&out));
    assert_eq!(sessions_of(&dst, "DST"), sessions_of(&env.sim, "SRC"));
}

#[test]
fn the_circuit_breaker_stops_after_max_failures_consecutive_failed_subjects() {
    let (env, dst) = two_sims((5, 1, 1, 1));
    dst.add_fault(FaultRule::status(
        "POST",
        "/data/services/import",
        403,
        1000,
    ));
    let cfg = env.home.path().join("t.yaml");
    std::fs::write(&cfg, "max_failures: 2\n").unwrap();
    let out = transfer(&env, &dst, &["--transfer-config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let r = json(&out);
    assert_eq!(r["subjects_failed"], 2);
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(
        errors.last().unwrap(),
        "Circuit breaker: 2 consecutive failures"
    );
    let imports = dst
        .requests()
        .iter()
        .filter(|r| r.path == "/data/services/import")
        .count();
    assert_eq!(imports, 2);
}
