//! `xnatctl subject …` against the simulator: listing with session counts, show, delete (single
//! and batch), custom variables and rename with its audit record.

use crate::support;

use crate::support::{command, snap_report, stderr_of, stdout_of, with_format, TestEnv, FORMATS};
use xnat_sim::routes::subjects::create_subject;
use xnat_sim::state::Project;

fn seeded() -> TestEnv {
    let env = TestEnv::empty();
    env.sim.with_state_mut(|st| {
        st.projects.insert("P1".into(), Project::new("P1", "admin"));
        for label in ["SUB_A", "SUB_B", "OLD_1"] {
            create_subject(st, "P1", label, "admin");
        }
        let id = st.subject_by_label("P1", "SUB_A").unwrap().id.clone();
        let s = st.subjects.get_mut(&id).unwrap();
        s.fields.insert("age_group".into(), "adult".into());
    });
    env
}

crate::support::shared!(seeded);

fn run(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.cmd().args(args).output().expect("xnatctl runs")
}

fn labels(env: &TestEnv) -> Vec<String> {
    env.sim.with_state(|st| {
        let mut v: Vec<String> = st.subjects.values().map(|s| s.label.clone()).collect();
        v.sort();
        v
    })
}

#[test]
fn list_in_every_format_with_session_counts() {
    let env = seeded();
    for (name, args) in [
        ("subject_list_table", vec!["subject", "list", "-P", "P1"]),
        (
            "subject_list_json",
            vec!["subject", "list", "-P", "P1", "-o", "json"],
        ),
        (
            "subject_list_tsv",
            vec!["subject", "list", "-P", "P1", "-o", "tsv"],
        ),
    ] {
        let out = run(&env, &args);
        assert!(out.status.success(), "{name}: {}", stderr_of(&out));
        support::insta_settings(&env).bind(|| insta::assert_snapshot!(name, stdout_of(&out)));
    }
    // Quiet prints accession ids (the reference printed labels) and counts nothing.
    env.clear_requests();
    let out = run(&env, &["subject", "list", "-P", "P1", "-q"]);
    let ids = env
        .sim
        .with_state(|st| st.subjects.keys().cloned().collect::<Vec<_>>());
    assert_eq!(stdout_of(&out), format!("{}\n", ids.join("\n")));
    assert!(!env
        .request_lines()
        .iter()
        .any(|l| l.contains("/experiments")));
}

/// Session counts come from one project-wide experiments listing: no request per subject, and
/// every subject of a large project gets its count.
#[test]
fn session_counts_of_200_subjects_take_two_listings() {
    let env = TestEnv::with(xnat_sim::SimConfig {
        generate: Some("projects=1,subjects=200,sessions=2".parse().unwrap()),
        ..Default::default()
    });
    let out = run(&env, &["subject", "list", "-P", "GEN00001", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(rows.len(), 200);
    assert!(rows.iter().all(|r| r["sessions"] == 2), "{rows:?}");
    let requests = env.request_lines();
    assert!(requests.len() <= 3, "{requests:#?}");
}

#[test]
fn list_without_project_is_a_usage_error() {
    let env = seeded();
    let out = run(&env, &["subject", "list"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
}

#[test]
fn show_and_vars() {
    let env = seeded();
    let out = run(
        &env,
        &["subject", "show", "SUB_A", "-P", "P1", "-o", "json"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(v["label"], "SUB_A");
    assert_eq!(v["project"], "P1");
    assert_eq!(v["session_count"], 0);
    let out = run(
        &env,
        &["subject", "vars", "SUB_A", "-P", "P1", "-o", "json"],
    );
    assert_eq!(
        stdout_of(&out),
        "[\n  {\n    \"name\": \"age_group\",\n    \"value\": \"adult\"\n  }\n]\n"
    );
    let out = run(&env, &["subject", "vars", "SUB_A", "-P", "P1", "-q"]);
    assert_eq!(stdout_of(&out), "age_group\n");
    let out = run(&env, &["subject", "show", "NOPE", "-P", "P1"]);
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn vars_set_puts_all_pairs_in_one_encoded_request() {
    let env = seeded();
    env.clear_requests();
    let out = run(
        &env,
        &[
            "subject", "vars", "set", "SUB_B", "site=A&B", "note=x y", "-P", "P1", "-y",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let puts: Vec<String> = env
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("PUT "))
        .collect();
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert!(puts[0].contains("site%5D%2Ffield=A%26B"), "{puts:?}");
    let fields = env
        .sim
        .with_state(|st| st.subject_by_label("P1", "SUB_B").unwrap().fields.clone());
    assert_eq!(fields.get("site").map(String::as_str), Some("A&B"));
    assert_eq!(fields.get("note").map(String::as_str), Some("x y"));
    let out = run(
        &env,
        &[
            "subject", "vars", "set", "SUB_B", "a=1", "a=2", "-P", "P1", "-y",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn delete_single_dry_run_and_batch_with_a_failure() {
    let env = seeded();
    let out = run(
        &env,
        &["subject", "delete", "SUB_A", "-P", "P1", "--dry-run"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(labels(&env), ["OLD_1", "SUB_A", "SUB_B"]);
    let out = run(&env, &["subject", "delete", "SUB_A", "-P", "P1", "-y"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(labels(&env), ["OLD_1", "SUB_B"]);

    let batch = env.home.path().join("ids.txt");
    std::fs::write(&batch, "SUB_B\nMISSING\n").unwrap();
    let out = run(
        &env,
        &[
            "subject",
            "delete",
            "-P",
            "P1",
            "--batch",
            batch.to_str().unwrap(),
            "-y",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(
        stderr_of(&out),
        "warning: MISSING: subject not found: MISSING\nerror: 1 of 2 items failed\n"
    );
    let rows: Vec<Vec<String>> = stdout_of(&out)
        .lines()
        .skip(3)
        .filter(|l| l.starts_with('│'))
        .map(|l| {
            l.split(['│', '┆'])
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        rows,
        [
            vec!["SUB_B", "success"],
            vec!["MISSING", "failed", "subject not found: MISSING"]
        ]
    );
    assert_eq!(labels(&env), ["OLD_1"]);
    let audit = std::fs::read_to_string(env.config_dir().join("audit.log")).unwrap();
    assert_eq!(audit.lines().count(), 3);
}

#[test]
fn rename_by_pattern_is_confirmed_and_audited() {
    let env = seeded();
    let out = run(
        &env,
        &[
            "subject",
            "rename",
            "-P",
            "P1",
            "--pattern",
            "OLD_(\\d+)",
            "--to",
            "{project}_NEW{1}",
            "--dry-run",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    insta::assert_snapshot!(stdout_of(&out), @r"
    ┌──────────────┬───────┬─────────┬────────┐
    │ Action       ┆ From  ┆ To      ┆ Detail │
    ╞══════════════╪═══════╪═════════╪════════╡
    │ would rename ┆ OLD_1 ┆ P1_NEW1 ┆        │
    └──────────────┴───────┴─────────┴────────┘
    ");
    assert_eq!(labels(&env), ["OLD_1", "SUB_A", "SUB_B"]);

    let out = run(
        &env,
        &[
            "subject",
            "rename",
            "-P",
            "P1",
            "--pattern",
            "OLD_(\\d+)",
            "--to",
            "{project}_NEW{1}",
            "-y",
            "-o",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    support::insta_settings(&env).bind(|| insta::assert_snapshot!(stdout_of(&out)));
    assert_eq!(labels(&env), ["P1_NEW1", "SUB_A", "SUB_B"]);
    let audit = std::fs::read_to_string(env.config_dir().join("audit.log")).unwrap();
    let last: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(last["operation"], "subject rename");
    assert_eq!(last["success"], true);
}

#[test]
fn rename_by_mapping_reports_skips() {
    let env = seeded();
    let map = env.home.path().join("map.json");
    std::fs::write(
        &map,
        r#"{"SUB_A": "SUB_A", "GONE": "X", "OLD_1": "bad/label"}"#,
    )
    .unwrap();
    let out = run(
        &env,
        &[
            "subject",
            "rename",
            "-P",
            "P1",
            "--mapping",
            map.to_str().unwrap(),
            "-y",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    support::insta_settings(&env).bind(|| insta::assert_snapshot!(stdout_of(&out)));
    assert_eq!(labels(&env), ["OLD_1", "SUB_A", "SUB_B"]);
}

#[test]
fn share_and_unshare() {
    let env = seeded();
    env.sim
        .with_state_mut(|st| st.projects.insert("P2".into(), Project::new("P2", "admin")));
    let shares = |env: &TestEnv| {
        env.sim
            .with_state(|st| st.subject_by_label("P1", "SUB_B").unwrap().shares.clone())
    };
    let out = run(
        &env,
        &[
            "subject", "share", "SUB_B", "-P", "P1", "--into", "P2", "--label", "B2", "-y",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(shares(&env).get("P2").map(String::as_str), Some("B2"));
    let out = run(
        &env,
        &[
            "subject", "unshare", "SUB_B", "-P", "P1", "--from", "p1", "-y",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "the primary project is refused");
    let out = run(
        &env,
        &[
            "subject", "unshare", "SUB_B", "-P", "P1", "--from", "P2", "-y",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(shares(&env).is_empty());
}

#[test]
fn list_of_an_unknown_project_names_the_project_and_exits_5() {
    let env = TestEnv::demo();
    let out = env
        .cmd()
        .args(["subject", "list", "-P", "NOPE"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(stdout_of(&out), "");
    assert_eq!(support::stderr_of(&out), "error: project not found: NOPE\n");
}

#[test]
fn rename_help_shows_the_template_on_one_line() {
    let env = TestEnv::demo();
    let out = env
        .cmd()
        .args(["subject", "rename", "--help"])
        .output()
        .expect("runs");
    let help = stdout_of(&out);
    assert!(
        help.contains("Target template: `{project}` and the capture groups `{1}`, `{2}`, ...\n"),
        "{help}"
    );
    assert!(!help.lines().any(|l| l.trim() == "`"), "{help}");
}

/// `seeded()` plus a second project `P2`.
fn seeded_with_p2() -> TestEnv {
    let env = seeded();
    env.sim
        .with_state_mut(|st| st.projects.insert("P2".into(), Project::new("P2", "admin")));
    env
}

fn sub_b_shares(env: &TestEnv) -> std::collections::BTreeMap<String, String> {
    env.sim
        .with_state(|st| st.subject_by_label("P1", "SUB_B").unwrap().shares.clone())
}

#[test]
fn share_prints_each_format_and_adds_exactly_one_share() {
    for fmt in FORMATS {
        let env = seeded_with_p2();
        let args = with_format(
            &[
                "subject", "share", "SUB_B", "-P", "P1", "--into", "P2", "--label", "B2", "-y",
            ],
            fmt,
        );
        let name = format!("share_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        assert_eq!(
            sub_b_shares(&env),
            std::collections::BTreeMap::from([("P2".to_string(), "B2".to_string())]),
            "{fmt}"
        );
    }
}

#[test]
fn unshare_prints_each_format_and_removes_exactly_that_share() {
    for fmt in FORMATS {
        let env = seeded_with_p2();
        env.sim.with_state_mut(|st| {
            let id = st.subject_by_label("P1", "SUB_B").unwrap().id.clone();
            let s = st.subjects.get_mut(&id).unwrap();
            s.shares.insert("P2".into(), "B2".into());
        });
        let args = with_format(
            &[
                "subject", "unshare", "SUB_B", "-P", "P1", "--from", "P2", "-y",
            ],
            fmt,
        );
        let name = format!("unshare_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        assert!(sub_b_shares(&env).is_empty(), "{fmt}");
    }
}

#[test]
fn vars_set_prints_each_format_and_stores_exactly_the_pairs() {
    for fmt in FORMATS {
        let env = seeded();
        let args = with_format(
            &[
                "subject", "vars", "set", "SUB_A", "site=A&B", "note=x y", "-P", "P1", "-y",
            ],
            fmt,
        );
        let name = format!("vars_set_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        let fields = env
            .sim
            .with_state(|st| st.subject_by_label("P1", "SUB_A").unwrap().fields.clone());
        let want: std::collections::BTreeMap<String, String> =
            [("age_group", "adult"), ("note", "x y"), ("site", "A&B")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(fields, want, "{fmt}");
    }
}

#[test]
fn list_prints_each_format_and_writes_nothing() {
    for fmt in FORMATS {
        let env = shared();
        let args = with_format(&["subject", "list", "-P", "P1"], fmt);
        let name = format!("list_{fmt}");
        snap_report!(&env, name.as_str(), command(env, &args));
        assert_eq!(labels(env), ["OLD_1", "SUB_A", "SUB_B"], "{fmt}");
    }
}

#[test]
fn show_prints_each_format_and_writes_nothing() {
    for fmt in FORMATS {
        let env = shared();
        let args = with_format(&["subject", "show", "SUB_A", "-P", "P1"], fmt);
        let name = format!("show_{fmt}");
        snap_report!(&env, name.as_str(), command(env, &args));
        assert_eq!(labels(env), ["OLD_1", "SUB_A", "SUB_B"], "{fmt}");
    }
}

#[test]
fn delete_prints_each_format_and_removes_exactly_that_subject() {
    for fmt in FORMATS {
        let env = seeded();
        let args = with_format(&["subject", "delete", "SUB_A", "-P", "P1", "-y"], fmt);
        let name = format!("delete_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        assert_eq!(labels(&env), ["OLD_1", "SUB_B"], "{fmt}");
    }
}

#[test]
fn delete_dry_run_prints_each_format_and_removes_nothing() {
    for fmt in FORMATS {
        let env = seeded();
        let args = with_format(
            &["subject", "delete", "SUB_A", "-P", "P1", "--dry-run"],
            fmt,
        );
        let name = format!("delete_dry_run_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        assert_eq!(labels(&env), ["OLD_1", "SUB_A", "SUB_B"], "{fmt}");
    }
}

#[test]
fn rename_prints_each_format_and_relabels_exactly_the_matches() {
    for fmt in FORMATS {
        let env = seeded();
        let args = with_format(
            &[
                "subject",
                "rename",
                "-P",
                "P1",
                "--pattern",
                "OLD_(\\d+)",
                "--to",
                "{project}_NEW{1}",
                "-y",
            ],
            fmt,
        );
        let name = format!("rename_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        assert_eq!(labels(&env), ["P1_NEW1", "SUB_A", "SUB_B"], "{fmt}");
    }
}

#[test]
fn rename_dry_run_tsv_lists_planned_changes_and_skips_as_rows() {
    let env = seeded();
    let map = env.home.path().join("map.json");
    std::fs::write(&map, r#"{"OLD_1": "NEW_1", "GONE": "X"}"#).unwrap();
    let args = [
        "subject",
        "rename",
        "-P",
        "P1",
        "--mapping",
        map.to_str().unwrap(),
        "--dry-run",
        "-o",
        "tsv",
    ];
    snap_report!(&env, "rename_dry_run_tsv", command(&env, &args));
    assert_eq!(labels(&env), ["OLD_1", "SUB_A", "SUB_B"]);
}
