//! `prearchive list|archive|delete|move|rebuild|settings` against the simulator.

use crate::support::{
    command, insta_settings, report, stderr_of, stdout_of, with_format, TestEnv, FORMATS,
};
use xnat_sim::state::PrearchiveEntry;

const TS1: &str = "20240115_093000123";
const TS2: &str = "20240116_101500456";

fn entry(project: &str, ts: &str, folder: &str, subject: &str, status: &str) -> PrearchiveEntry {
    PrearchiveEntry {
        project: project.into(),
        timestamp: ts.into(),
        folder_name: folder.into(),
        name: folder.into(),
        status: status.into(),
        subject: subject.into(),
        session: folder.into(),
        tag: "1.2.826.0.1.3680043.8.498.5".into(),
        scan_date: "2024-01-15 00:00:00.0".into(),
        scan_time: "09:30:00".into(),
        uploaded: "2024-01-15 09:30:00.123".into(),
        lastmod: "2024-01-15 09:30:10.000".into(),
        source: "SessionImporter".into(),
        scans: Vec::new(),
    }
}

/// Demo fixture plus two prearchive sessions in DEMO_MR and one in DEMO_CT.
fn env() -> TestEnv {
    let env = TestEnv::demo();
    env.sim.with_state_mut(|s| {
        // The fixture's own prearchive content may change; these tests own theirs.
        s.prearchive.clear();
        s.prearchive
            .push(entry("DEMO_MR", TS1, "NEW_MR1", "NEWSUBJ", "READY"));
        s.prearchive
            .push(entry("DEMO_MR", TS2, "NEW_MR2", "NEWSUBJ", "ERROR"));
        s.prearchive
            .push(entry("DEMO_CT", TS1, "NEW_CT1", "CTSUBJ", "READY"));
    });
    env
}

crate::support::shared!(env);

/// `(project, timestamp, folder, status)` of every prearchive entry.
fn prearchive_state(env: &TestEnv) -> Vec<(String, String, String, String)> {
    env.sim.with_state(|s| {
        s.prearchive
            .iter()
            .map(|e| {
                (
                    e.project.clone(),
                    e.timestamp.clone(),
                    e.folder_name.clone(),
                    e.status.clone(),
                )
            })
            .collect()
    })
}

fn audit_lines(env: &TestEnv) -> Vec<serde_json::Value> {
    std::fs::read_to_string(env.config_dir().join("audit.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn run(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.cmd().args(args).output().unwrap()
}

#[test]
fn list_in_every_format() {
    let env = env();
    let s = insta_settings(&env);
    for (name, extra) in [
        ("list_table", vec![]),
        ("list_json", vec!["-o", "json"]),
        ("list_tsv", vec!["-o", "tsv"]),
        ("list_quiet", vec!["-q"]),
    ] {
        let mut args = vec!["prearchive", "list", "--project", "DEMO_MR"];
        args.extend(extra);
        let out = run(&env, &args);
        assert!(out.status.success(), "{name}: {}", stderr_of(&out));
        s.bind(|| insta::assert_snapshot!(name, stdout_of(&out)));
    }
    let all = run(&env, &["prearchive", "list", "-q"]);
    assert_eq!(
        stdout_of(&all).lines().count(),
        3,
        "all projects: {}",
        stdout_of(&all)
    );
}

#[test]
fn archive_moves_the_session_into_the_archive() {
    let env = env();
    let out = run(
        &env,
        &[
            "prearchive",
            "archive",
            "DEMO_MR",
            TS1,
            "NEW_MR1",
            "-o",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(v["success"], true);
    assert_eq!(v["action"], "archive");
    assert!(
        v["experiment_uri"]
            .as_str()
            .unwrap()
            .ends_with("/subjects/NEWSUBJ/experiments/NEW_MR1"),
        "{v}"
    );
    let left: Vec<String> = prearchive_state(&env).into_iter().map(|e| e.2).collect();
    assert_eq!(left, ["NEW_MR2", "NEW_CT1"]);
    let archived = env.sim.with_state(|s| {
        s.experiment_by_label("DEMO_MR", "NEW_MR1")
            .map(|e| e.subject_id.clone())
    });
    let subject = archived.expect("experiment archived");
    let subject_label = env.sim.with_state(|s| s.subjects[&subject].label.clone());
    assert_eq!(subject_label, "NEWSUBJ");
    let audit = audit_lines(&env);
    assert_eq!(audit.last().unwrap()["operation"], "prearchive archive");
    assert_eq!(audit.last().unwrap()["success"], true);
}

#[test]
fn archive_of_a_missing_session_is_not_found() {
    let env = env();
    let out = run(&env, &["prearchive", "archive", "DEMO_MR", TS1, "GONE"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    assert_eq!(prearchive_state(&env).len(), 3);
}

#[test]
fn delete_asks_and_removes_exactly_one_session() {
    let env = env();
    // No terminal and no --yes: refused before anything changes.
    let out = run(&env, &["prearchive", "delete", "DEMO_MR", TS2, "NEW_MR2"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_eq!(prearchive_state(&env).len(), 3);

    let out = run(
        &env,
        &[
            "prearchive",
            "delete",
            "DEMO_MR",
            TS2,
            "NEW_MR2",
            "--dry-run",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(prearchive_state(&env).len(), 3);
    assert!(!env.request_lines().iter().any(|l| l.starts_with("DELETE")));

    let out = run(
        &env,
        &["prearchive", "delete", "DEMO_MR", TS2, "NEW_MR2", "--yes"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut s = insta_settings(&env);
    s.add_filter(r#""timestamp": "[^"]*""#, r#""timestamp": "[TS]""#);
    s.bind(|| insta::assert_snapshot!("delete_table", stdout_of(&out)));
    let left: Vec<String> = prearchive_state(&env).into_iter().map(|e| e.2).collect();
    assert_eq!(left, ["NEW_MR1", "NEW_CT1"]);
    assert!(env.request_lines().contains(&format!(
        "DELETE /data/prearchive/projects/DEMO_MR/{TS2}/NEW_MR2"
    )));
    let audit = audit_lines(&env);
    assert_eq!(audit.len(), 3, "{audit:?}");
    assert_eq!(audit[1]["dry_run"], true);
    assert_eq!(audit[2]["operation"], "prearchive delete");
    assert_eq!(audit[2]["project"], "DEMO_MR");
    assert_eq!(audit[2]["session"], "NEW_MR2");
    assert_eq!(audit[2]["success"], true);
}

#[test]
fn move_changes_the_project_and_prints_json() {
    let env = env();
    let out = run(
        &env,
        &[
            "prearchive",
            "move",
            "DEMO_MR",
            TS1,
            "NEW_MR1",
            "DEMO_CT",
            "--yes",
            "-o",
            "json",
        ],
    );
    // DEMO_CT already holds a session in TS1, but with another folder name: no conflict.
    assert!(out.status.success(), "{}", stderr_of(&out));
    insta_settings(&env).bind(|| insta::assert_snapshot!("move_json", stdout_of(&out)));
    let st = prearchive_state(&env);
    assert_eq!(st[0].0, "DEMO_CT");
    assert_eq!(st[0].2, "NEW_MR1");
    assert_eq!(
        audit_lines(&env).last().unwrap()["operation"],
        "prearchive move"
    );
}

#[test]
fn rebuild_resets_the_status_and_is_audited() {
    let env = env();
    let out = run(
        &env,
        &[
            "prearchive",
            "rebuild",
            "DEMO_MR",
            TS2,
            "NEW_MR2",
            "--yes",
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "NEW_MR2\n");
    assert_eq!(prearchive_state(&env)[1].3, "READY");
    assert!(env.request_lines().contains(&format!(
        "POST /data/prearchive/projects/DEMO_MR/{TS2}/NEW_MR2?action=rebuild"
    )));
    assert_eq!(
        audit_lines(&env).last().unwrap()["operation"],
        "prearchive rebuild"
    );
}

#[test]
fn settings_read_and_set() {
    let env = env();
    let out = run(&env, &["prearchive", "settings", "-P", "DEMO_MR"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    insta_settings(&env).bind(|| insta::assert_snapshot!("settings_table", stdout_of(&out)));

    let out = run(
        &env,
        &[
            "prearchive",
            "settings",
            "-P",
            "DEMO_MR",
            "--set",
            "auto-archive",
            "--yes",
            "-o",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    insta_settings(&env).bind(|| insta::assert_snapshot!("settings_set_json", stdout_of(&out)));
    let code = env
        .sim
        .with_state(|s| s.projects["DEMO_MR"].prearchive_code);
    assert_eq!(code, 4);

    let out = run(
        &env,
        &[
            "prearchive",
            "settings",
            "-P",
            "DEMO_MR",
            "--set",
            "manual",
            "--dry-run",
        ],
    );
    assert!(out.status.success());
    assert_eq!(
        env.sim
            .with_state(|s| s.projects["DEMO_MR"].prearchive_code),
        4
    );
}

#[test]
fn bad_identifiers_are_refused_locally() {
    let env = env();
    let out = run(
        &env,
        &["prearchive", "delete", "DEMO_MR", TS1, "a/b", "--yes"],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(env.request_lines().is_empty(), "{:?}", env.request_lines());
}

/// Snapshot the [`report`] of `args` in `fmt` under `{prefix}_{fmt}`.
fn snap_in(env: &TestEnv, prefix: &str, args: &[&str], fmt: &str) {
    let text = report(env, command(env, &with_format(args, fmt)));
    insta_settings(env).bind(|| insta::assert_snapshot!(format!("{prefix}_{fmt}"), text));
}

fn folders(env: &TestEnv) -> Vec<String> {
    prearchive_state(env).into_iter().map(|e| e.2).collect()
}

#[test]
fn archive_prints_each_format_and_archives_exactly_that_session() {
    for fmt in FORMATS {
        let env = env();
        snap_in(
            &env,
            "archive_report",
            &["prearchive", "archive", "DEMO_MR", TS1, "NEW_MR1"],
            fmt,
        );
        assert_eq!(folders(&env), ["NEW_MR2", "NEW_CT1"], "{fmt}");
        assert!(
            env.sim
                .with_state(|s| s.experiment_by_label("DEMO_MR", "NEW_MR1").is_some()),
            "{fmt}"
        );
    }
}

#[test]
fn rebuild_prints_each_format_and_resets_exactly_that_status() {
    for fmt in FORMATS {
        let env = env();
        snap_in(
            &env,
            "rebuild_report",
            &["prearchive", "rebuild", "DEMO_MR", TS2, "NEW_MR2", "--yes"],
            fmt,
        );
        let statuses: Vec<String> = prearchive_state(&env).into_iter().map(|e| e.3).collect();
        assert_eq!(statuses, ["READY", "READY", "READY"], "{fmt}");
    }
}

#[test]
fn delete_prints_each_format_and_removes_exactly_that_session() {
    for fmt in FORMATS {
        let env = env();
        snap_in(
            &env,
            "delete_report",
            &["prearchive", "delete", "DEMO_MR", TS2, "NEW_MR2", "--yes"],
            fmt,
        );
        assert_eq!(folders(&env), ["NEW_MR1", "NEW_CT1"], "{fmt}");
    }
}

#[test]
fn move_prints_each_format_and_moves_exactly_that_session() {
    for fmt in FORMATS {
        let env = env();
        snap_in(
            &env,
            "move_report",
            &[
                "prearchive",
                "move",
                "DEMO_MR",
                TS1,
                "NEW_MR1",
                "DEMO_CT",
                "--yes",
            ],
            fmt,
        );
        let projects: Vec<(String, String)> = prearchive_state(&env)
            .into_iter()
            .map(|e| (e.0, e.2))
            .collect();
        assert_eq!(
            projects,
            [
                ("DEMO_CT".to_string(), "NEW_MR1".to_string()),
                ("DEMO_MR".to_string(), "NEW_MR2".to_string()),
                ("DEMO_CT".to_string(), "NEW_CT1".to_string()),
            ],
            "{fmt}"
        );
    }
}

#[test]
fn settings_prints_each_format_and_writes_nothing() {
    for fmt in FORMATS {
        let env = shared();
        snap_in(
            env,
            "settings_report",
            &["prearchive", "settings", "-P", "DEMO_MR"],
            fmt,
        );
        let code = env
            .sim
            .with_state(|s| s.projects["DEMO_MR"].prearchive_code);
        assert_eq!(code, 0, "{fmt}");
    }
}

#[test]
fn settings_set_prints_each_format_and_stores_exactly_that_code() {
    for fmt in FORMATS {
        let env = env();
        snap_in(
            &env,
            "settings_set_report",
            &[
                "prearchive",
                "settings",
                "-P",
                "DEMO_MR",
                "--set",
                "auto-archive",
                "--yes",
            ],
            fmt,
        );
        let codes: Vec<u8> = env
            .sim
            .with_state(|s| s.projects.values().map(|p| p.prearchive_code).collect());
        assert_eq!(codes.iter().filter(|c| **c == 4).count(), 1, "{fmt}");
        assert_eq!(
            env.sim
                .with_state(|s| s.projects["DEMO_MR"].prearchive_code),
            4,
            "{fmt}"
        );
    }
}
