//! `xsync *` against the simulator's XSync plugin endpoints (a sync advances one subject per
//! tick of the simulated clock).

use serde_json::Value;

use crate::support::{stderr_of, stdout_of, TestEnv};

const REMOTE: &str = "https://remote.example.org";

/// Project P (3 subjects) bound by XSync to RP on the remote.
fn env() -> TestEnv {
    let env = TestEnv::empty();
    env.sim.with_state_mut(|st| {
        xnat_sim::fixture::dicom_project(st, "P", (3, 1, 1, 1), 0);
        st.xsync.setup("P", REMOTE, "RP");
    });
    env
}

fn run(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.cmd().args(args).output().expect("runs")
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout_of(out))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout_of(out)))
}

fn xsync_requests(env: &TestEnv) -> Vec<String> {
    env.request_lines()
        .into_iter()
        .filter(|l| l.contains("/xapi/xsync"))
        .collect()
}

#[test]
fn a_sync_runs_on_the_simulated_clock_and_status_history_and_progress_follow_it() {
    let env = env();
    let out = run(&env, &["xsync", "setup", "-P", "P", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(json(&out)["remote_project_id"], "RP");

    env.clear_requests();
    let out = run(&env, &["xsync", "sync", "-P", "P", "-y"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("XSync triggered for P"));
    assert_eq!(xsync_requests(&env), ["POST /xapi/xsync/projects/P"]);

    let status = json(&run(&env, &["xsync", "status", "-P", "P", "-o", "json"]));
    assert_eq!(status["isSyncing"], true);
    assert_eq!(status["currentSubject"], "P_S01");
    env.sim.with_state_mut(|st| {
        for _ in 0..3 {
            st.xsync.tick();
        }
    });
    let status = json(&run(&env, &["xsync", "status", "-P", "P", "-o", "json"]));
    assert_eq!(status["isSyncing"], false);
    assert_eq!(status["wasSyncSuccessful"], true);
    assert_eq!(
        status["completedSubjects"],
        serde_json::json!(["P_S01", "P_S02", "P_S03"])
    );

    let out = run(&env, &["xsync", "history", "-P", "P", "-q"]);
    assert_eq!(stdout_of(&out), "1\n");
    let out = run(&env, &["xsync", "progress", "-P", "P"]);
    insta::assert_snapshot!(stdout_of(&out), @r"
    2026-01-01 00:00:00 Synchronization of P started
    2026-01-01 00:01:00 Subject P_S01 synchronized
    2026-01-01 00:02:00 Subject P_S02 synchronized
    2026-01-01 00:03:00 Subject P_S03 synchronized
    2026-01-01 00:03:00 Synchronization of P complete
    ");
    let out = run(&env, &["xsync", "list", "-o", "tsv"]);
    assert_eq!(
        stdout_of(&out),
        "remoteUrl\tsiteName\tclassification\tnumberProjects\tnumberErrors\n\
         https://remote.example.org\thttps://remote.example.org\t\t1\t0\n"
    );
    // No XSync call carries a `format` parameter.
    assert!(
        env.request_lines()
            .iter()
            .filter(|l| l.contains("/xapi/xsync"))
            .all(|l| !l.contains("format=")),
        "{:?}",
        env.request_lines()
    );
}

#[test]
fn sync_subject_resolves_a_label_and_is_refused_while_the_project_syncs() {
    let env = env();
    let id = env
        .sim
        .with_state(|st| st.experiment_by_label("P", "P_S02_MR1").unwrap().id.clone());
    env.clear_requests();
    let out = run(
        &env,
        &["xsync", "sync-subject", "-E", "P_S02_MR1", "-P", "P", "-y"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        xsync_requests(&env),
        [format!("POST /xapi/xsync/syncexperiment/{id}")]
    );
    assert_eq!(
        run(&env, &["xsync", "sync", "-P", "P", "-y"]).status.code(),
        Some(0)
    );
    let out = run(&env, &["xsync", "sync-subject", "-E", &id, "-y"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("is being synchronized"),
        "{}",
        stderr_of(&out)
    );
    let out = run(&env, &["xsync", "sync", "-P", "P", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr_of(&out).contains("Would trigger XSync for project P"));
}

#[test]
fn refresh_credentials_issues_saves_and_checks_a_token() {
    let env = env();
    env.clear_requests();
    let out = env
        .cmd()
        .args([
            "xsync",
            "refresh-credentials",
            "-P",
            "P",
            "--remote-url",
            "https://remote.example.org/",
            "--remote-user",
            "alice",
            "--remote-project",
            "RP",
            "--remote-pass-stdin",
            "-y",
            "-o",
            "json",
        ])
        .write_stdin("s3cret\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        xsync_requests(&env),
        [
            "POST /xapi/xsync/remoteREST",
            "POST /xapi/xsync/credentials/save/projects/P",
            "POST /xapi/xsync/credentials/check/projects/P"
        ]
    );
    let stored = env.sim.with_state(|st| {
        let p = &st.xsync.projects["P"];
        (p.alias.clone(), p.remote_user.clone())
    });
    assert_eq!(
        stored,
        (
            Some(("alias-0001".into(), "secret-0001".into())),
            Some("alice".into())
        )
    );
    assert_eq!(json(&out)[0]["status"], "success");

    // --all targets the projects bound to the URL; none bound is an error.
    let out = env
        .cmd()
        .args([
            "xsync",
            "refresh-credentials",
            "--all",
            "--remote-url",
            REMOTE,
        ])
        .args(["--remote-user", "alice", "--remote-pass-stdin", "-y", "-q"])
        .write_stdin("s3cret\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "P\n");
    let out = env
        .cmd()
        .args(["xsync", "refresh-credentials", "--all"])
        .args(["--remote-url", "https://other.example.org"])
        .args(["--remote-user", "alice", "--remote-pass-stdin", "-y"])
        .write_stdin("s3cret\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("No XSync-bound projects matched --remote-url"));
}

#[test]
fn refresh_credentials_refuses_a_password_value_and_reports_a_rejected_one() {
    let env = env();
    let out = run(
        &env,
        &[
            "xsync",
            "refresh-credentials",
            "-P",
            "P",
            "--remote-url",
            REMOTE,
            "--remote-user",
            "alice",
            "--remote-pass",
            "s3cret",
            "-y",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = env
        .cmd()
        .args([
            "xsync",
            "refresh-credentials",
            "-P",
            "P",
            "--remote-url",
            REMOTE,
        ])
        .args(["--remote-user", "alice", "--remote-pass-stdin", "-y"])
        .write_stdin("wrong\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("Refresh failed for P"), "{err}");
    assert!(!err.contains("wrong"), "{err}");
    assert!(env
        .sim
        .with_state(|st| st.xsync.projects["P"].alias.is_none()));
}
