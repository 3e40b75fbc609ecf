//! `session` commands against the simulator: every output format, and the exact server effects.
use crate::support;

use std::collections::BTreeMap;

use crate::support::{
    command, run, snap, snap_formats, snap_report, stdout_of, with_format, TestEnv, FORMATS,
};

#[test]
fn list_in_every_format() {
    let env = TestEnv::demo();
    snap_formats!(&env, "list", &["session", "list", "-P", "DEMO_MR"]);
    snap!(
        &env,
        "list_quiet",
        &["session", "list", "-P", "DEMO_MR", "-q"],
    );
    snap!(
        &env,
        "list_modality_ct",
        &[
            "session",
            "list",
            "-P",
            "DEMO_MR",
            "--modality",
            "ct",
            "-o",
            "tsv",
        ],
    );
}

#[test]
fn list_with_limit_pages_on_the_server() {
    let env = TestEnv::demo();
    env.clear_requests();
    let (stdout, code) = run(
        &env,
        &["session", "list", "-P", "DEMO_MR", "--limit", "1", "-q"],
    );
    assert_eq!((stdout.as_str(), code), ("XNAT_E00001\n", 0));
    let lists: Vec<String> = env
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("GET /data/projects/DEMO_MR/experiments"))
        .collect();
    assert_eq!(lists.len(), 1, "{lists:?}");
    assert!(lists[0].contains("limit=1"), "{lists:?}");
}

#[test]
fn show_in_every_format() {
    let env = TestEnv::demo();
    snap_formats!(
        &env,
        "show",
        &["session", "show", "-P", "DEMO_MR", "-E", "SUBJ001_MR1"]
    );
    snap!(
        &env,
        "show_quiet",
        &[
            "session",
            "show",
            "-P",
            "DEMO_MR",
            "-E",
            "SUBJ001_MR1",
            "-q",
        ],
    );
}

#[test]
fn unknown_session_is_not_found() {
    let env = TestEnv::demo();
    let (_, code) = run(&env, &["session", "show", "-P", "DEMO_MR", "-E", "NOPE"]);
    assert_eq!(code, 5);
}

#[test]
fn vars_in_every_format_and_set() {
    let env = TestEnv::demo();
    snap_formats!(&env, "vars", &["session", "vars", "-E", "XNAT_E00001"]);
    snap!(
        &env,
        "vars_quiet",
        &["session", "vars", "-E", "XNAT_E00001", "-q"],
    );
    let (_, code) = run(
        &env,
        &[
            "session",
            "vars",
            "set",
            "-P",
            "DEMO_MR",
            "-E",
            "SUBJ002_MR1",
            "site=B&C",
            "--yes",
        ],
    );
    assert_eq!(code, 0);
    let site = env
        .sim
        .with_state(|s| s.experiments["XNAT_E00002"].fields.get("site").cloned());
    assert_eq!(site.as_deref(), Some("B&C"));
    // A dry run changes nothing.
    let (_, code) = run(
        &env,
        &[
            "session",
            "vars",
            "set",
            "-E",
            "XNAT_E00003",
            "site=Z",
            "--dry-run",
        ],
    );
    assert_eq!(code, 0);
    assert!(env
        .sim
        .with_state(|s| !s.experiments["XNAT_E00003"].fields.contains_key("site")));
}

#[test]
fn share_and_unshare_change_the_server() {
    let env = TestEnv::demo();
    let (_, code) = run(
        &env,
        &[
            "session",
            "share",
            "-E",
            "XNAT_E00002",
            "--into",
            "DEMO_PUBLIC",
            "--label",
            "P2",
            "--yes",
        ],
    );
    assert_eq!(code, 0);
    let label = env.sim.with_state(|s| {
        s.experiments["XNAT_E00002"]
            .shares
            .get("DEMO_PUBLIC")
            .cloned()
    });
    assert_eq!(label.as_deref(), Some("P2"));
    let (_, code) = run(
        &env,
        &[
            "session",
            "unshare",
            "-E",
            "XNAT_E00002",
            "--from",
            "DEMO_PUBLIC",
            "--yes",
        ],
    );
    assert_eq!(code, 0);
    assert!(env
        .sim
        .with_state(|s| s.experiments["XNAT_E00002"].shares.is_empty()));
    // The primary project is not a share.
    let (_, code) = run(
        &env,
        &[
            "session",
            "unshare",
            "-E",
            "XNAT_E00002",
            "--from",
            "DEMO_MR",
            "--yes",
        ],
    );
    assert_eq!(code, 1);
}

#[test]
fn normalize_labels_plans_and_renames() {
    let env = TestEnv::demo();
    snap_formats!(
        &env,
        "normalize_dry",
        &["session", "normalize-labels", "-P", "DEMO_MR", "--dry-run"]
    );
    snap!(
        &env,
        "normalize_dry_quiet",
        &[
            "session",
            "normalize-labels",
            "-P",
            "DEMO_MR",
            "--dry-run",
            "-q",
        ],
    );
    assert_eq!(
        env.sim
            .with_state(|s| s.experiments["XNAT_E00001"].label.clone()),
        "SUBJ001_MR1"
    );
    let out = env
        .cmd()
        .env("XNATCTL_RENAME_POLL_MS", "1")
        .args(["session", "normalize-labels", "-P", "DEMO_MR", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr_of(&out));
    let labels: Vec<String> = env.sim.with_state(|s| {
        ["XNAT_E00001", "XNAT_E00002", "XNAT_E00003"]
            .iter()
            .map(|e| s.experiments[*e].label.clone())
            .collect()
    });
    assert_eq!(
        labels,
        [
            "SUBJ001_01_SE01_MR",
            "SUBJ002_01_SE01_MR",
            "SUBJ003_01_SE01_MR"
        ]
    );
}

#[test]
fn list_of_an_unknown_project_names_the_project_and_exits_5() {
    let env = TestEnv::demo();
    let out = env
        .cmd()
        .args(["session", "list", "-P", "NOPE", "-q"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(stdout_of(&out), "");
    assert_eq!(support::stderr_of(&out), "error: project not found: NOPE\n");
}

/// The shares of experiment `id` in the simulator: project → label.
fn shares(env: &TestEnv, id: &str) -> BTreeMap<String, String> {
    env.sim.with_state(|s| s.experiments[id].shares.clone())
}

#[test]
fn share_prints_each_format_and_adds_exactly_one_share() {
    for fmt in FORMATS {
        let env = TestEnv::demo();
        let args = with_format(
            &[
                "session",
                "share",
                "-E",
                "XNAT_E00002",
                "--into",
                "DEMO_PUBLIC",
                "--label",
                "P2",
                "--yes",
            ],
            fmt,
        );
        let name = format!("share_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        assert_eq!(
            shares(&env, "XNAT_E00002"),
            BTreeMap::from([("DEMO_PUBLIC".to_string(), "P2".to_string())]),
            "{fmt}"
        );
    }
}

#[test]
fn unshare_prints_each_format_and_removes_exactly_that_share() {
    for fmt in FORMATS {
        let env = TestEnv::demo();
        env.sim.with_state_mut(|s| {
            s.experiments
                .get_mut("XNAT_E00002")
                .unwrap()
                .shares
                .insert("DEMO_PUBLIC".into(), "P2".into());
        });
        let args = with_format(
            &[
                "session",
                "unshare",
                "-E",
                "XNAT_E00002",
                "--from",
                "DEMO_PUBLIC",
                "--yes",
            ],
            fmt,
        );
        let name = format!("unshare_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        assert!(shares(&env, "XNAT_E00002").is_empty(), "{fmt}");
    }
}

#[test]
fn vars_set_prints_each_format_and_stores_exactly_the_pairs() {
    for fmt in FORMATS {
        let env = TestEnv::demo();
        let before = env
            .sim
            .with_state(|s| s.experiments["XNAT_E00002"].fields.clone());
        let args = with_format(
            &[
                "session",
                "vars",
                "set",
                "-P",
                "DEMO_MR",
                "-E",
                "SUBJ002_MR1",
                "site=B&C",
                "note=x y",
                "--yes",
            ],
            fmt,
        );
        let name = format!("vars_set_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        let mut want = before;
        want.insert("site".into(), "B&C".into());
        want.insert("note".into(), "x y".into());
        let after = env
            .sim
            .with_state(|s| s.experiments["XNAT_E00002"].fields.clone());
        assert_eq!(after, want, "{fmt}");
    }
}

#[test]
fn normalize_labels_prints_each_format_and_renames_every_session() {
    for fmt in FORMATS {
        let env = TestEnv::demo();
        let args = with_format(
            &["session", "normalize-labels", "-P", "DEMO_MR", "--yes"],
            fmt,
        );
        let mut cmd = command(&env, &args);
        cmd.env("XNATCTL_RENAME_POLL_MS", "1");
        let name = format!("normalize_{fmt}");
        snap_report!(&env, name.as_str(), cmd);
        let labels: Vec<(String, String)> = env.sim.with_state(|s| {
            s.experiments
                .values()
                .filter(|e| e.project == "DEMO_MR")
                .map(|e| (e.id.clone(), e.label.clone()))
                .collect()
        });
        assert_eq!(
            labels,
            [
                ("XNAT_E00001".to_string(), "SUBJ001_01_SE01_MR".to_string()),
                ("XNAT_E00002".to_string(), "SUBJ002_01_SE01_MR".to_string()),
                ("XNAT_E00003".to_string(), "SUBJ003_01_SE01_MR".to_string()),
            ],
            "{fmt}"
        );
    }
}
