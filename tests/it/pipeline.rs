//! `pipeline list|run|status|jobs|cancel` against the simulator's pipeline engine (project and
//! site pipeline lists, launches on an experiment, workflows whose status walks on a clock).

use std::time::{Duration, Instant};

use serde_json::Value;
use xnat_sim::state::pipelines::{JobOutcome, JobPlan};

use crate::support::{command, interrupt, report, spawn, stderr_of, stdout_of, TestEnv};

/// Workflows launched from now on take `step_ms` per state and end with `outcome`.
fn plan(env: &TestEnv, step_ms: u64, outcome: JobOutcome) {
    env.sim.with_state_mut(|st| {
        st.pipelines.plan = JobPlan {
            step: Duration::from_millis(step_ms),
            steps: 2,
            outcome,
        }
    });
}

/// `(id, pipeline, experiment, params)` of one workflow.
type Launched = (u64, String, String, Vec<(String, String)>);

fn workflows(env: &TestEnv) -> Vec<Launched> {
    env.sim.with_state(|st| {
        st.pipelines
            .workflows
            .values()
            .map(|w| {
                (
                    w.id,
                    w.pipeline_name.clone(),
                    w.experiment.clone(),
                    w.params.clone(),
                )
            })
            .collect()
    })
}

fn status_of(env: &TestEnv, id: u64) -> String {
    env.sim
        .with_state(|st| st.pipelines.workflows[&id].state(Instant::now()).0)
}

/// xnatctl as admin, polling every 10 ms.
fn fast(env: &TestEnv, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = command(env, args);
    cmd.env("XNATCTL_POLL_MS", "10");
    cmd
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout_of(out)))
}

#[test]
fn list_shows_a_projects_pipelines_or_the_sites() {
    let env = TestEnv::demo();
    let r = report(
        &env,
        command(&env, &["pipeline", "list", "-P", "DEMO_MR", "-o", "tsv"]),
    );
    insta::assert_snapshot!(r, @r"
    exit 0
    --- stdout
    Name	Description	Path	Datatype
    DicomToNifti	Builds NIfTI files from the DICOM scans of a session	/data/xnat/pipeline/catalog/mricron/DicomToNifti.xml	xnat:imageSessionData
    AutoRun	Runs after archiving: snapshots and scan-type fixes	/data/xnat/pipeline/catalog/xnat_tools/AutoRun.xml	xnat:imageSessionData
    --- stderr
    --- writes
    ");
    env.clear_requests();
    let out = command(&env, &["pipeline", "list", "-q"]).output().unwrap();
    assert_eq!(stdout_of(&out), "DicomToNifti\nAutoRun\n");
    assert!(env
        .request_lines()
        .contains(&"GET /xapi/pipelines/site?format=json".to_string()));
    let r = report(&env, command(&env, &["pipeline", "list", "-P", "NOPE"]));
    assert!(r.starts_with("exit 5\n"), "{r}");
    // Only owners read a project's pipeline list (Permissions.canDelete); `user` is a member.
    let out = env
        .bare_cmd()
        .args(["pipeline", "list", "-P", "DEMO_MR"])
        .env("XNAT_URL", env.url())
        .env("XNAT_USER", "user")
        .env("XNAT_PASS", "user")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
}

#[test]
fn run_launches_on_the_experiments_project_and_prints_the_job() {
    let env = TestEnv::demo();
    plan(&env, 60_000, JobOutcome::Complete);
    let r = report(
        &env,
        command(
            &env,
            &[
                "pipeline",
                "run",
                "DicomToNifti",
                "-E",
                "SUBJ002_MR1",
                "-P",
                "DEMO_MR",
                "--param",
                "create_nii=Y",
                "--param",
                "overwrite=a=b",
            ],
        ),
    );
    insta::assert_snapshot!(r, @r"
    exit 0
    --- stdout
    --- stderr
    Starting pipeline DicomToNifti on XNAT_E00002...
    ✓ Pipeline started. Job ID: 1
    --- writes
    POST /data/projects/DEMO_MR/pipelines/DicomToNifti/experiments/XNAT_E00002?create_nii=Y&overwrite=a%3Db
    ");
    assert_eq!(
        workflows(&env),
        vec![(
            1,
            "DicomToNifti".into(),
            "XNAT_E00002".into(),
            vec![
                ("create_nii".into(), "Y".into()),
                ("overwrite".into(), "a=b".into())
            ]
        )]
    );
    let out = command(
        &env,
        &["pipeline", "run", "AutoRun", "-E", "XNAT_E00002", "-q"],
    )
    .output()
    .unwrap();
    assert_eq!(stdout_of(&out), "2\n", "{}", stderr_of(&out));
    let r = report(&env, command(&env, &["pipeline", "status", "2"]));
    assert!(r.contains("\nStatus            Queued\n"), "{r}");
    assert!(r.contains("\nJob ID            2\n"), "{r}");
    // SUBJ001_MR1 is shared into DEMO_CT: -P says which project's pipelines run it.
    let r = report(
        &env,
        command(
            &env,
            &[
                "pipeline",
                "run",
                "AutoRun",
                "-E",
                "SUBJ001_MR1",
                "-P",
                "DEMO_CT",
            ],
        ),
    );
    assert!(
        r.ends_with("POST /data/projects/DEMO_CT/pipelines/AutoRun/experiments/XNAT_E00001\n"),
        "{r}"
    );
}

#[test]
fn run_refuses_bad_params_and_reports_a_launch_that_created_no_job() {
    let env = TestEnv::demo();
    for bad in ["novalue", "=v"] {
        env.clear_requests();
        let r = report(
            &env,
            command(
                &env,
                &[
                    "pipeline",
                    "run",
                    "DicomToNifti",
                    "-E",
                    "XNAT_E00001",
                    "--param",
                    bad,
                ],
            ),
        );
        assert!(r.starts_with("exit 2\n"), "{r}");
        assert!(env.request_lines().is_empty(), "{bad}");
    }
    let r = report(
        &env,
        command(
            &env,
            &["pipeline", "run", "NoSuchPipe", "-E", "XNAT_E00001"],
        ),
    );
    insta::assert_snapshot!(r, @r"
    exit 1
    --- stdout
    --- stderr
    Starting pipeline NoSuchPipe on XNAT_E00001...
    error: XNAT accepted the launch of NoSuchPipe on XNAT_E00001 but recorded no job (is NoSuchPipe a pipeline of project DEMO_MR? see 'xnatctl pipeline list -P DEMO_MR')
    --- writes
    POST /data/projects/DEMO_MR/pipelines/NoSuchPipe/experiments/XNAT_E00001
    ");
    let r = report(
        &env,
        command(
            &env,
            &[
                "pipeline",
                "run",
                "DicomToNifti",
                "-E",
                "NOPE_MR9",
                "-P",
                "DEMO_MR",
            ],
        ),
    );
    assert!(
        r.starts_with("exit 5\n") && r.ends_with("--- writes\n\n"),
        "{r}"
    );
    let r = report(
        &env,
        command(
            &env,
            &[
                "pipeline",
                "run",
                "DicomToNifti",
                "-E",
                "XNAT_E00001",
                "--dry-run",
            ],
        ),
    );
    insta::assert_snapshot!(r, @r#"
    exit 0
    --- stdout
    --- stderr
    [dry-run] preview mode: no changes will be made
    [dry-run] Would launch pipeline DicomToNifti on XNAT_E00001 in project DEMO_MR with params: {}
    --- writes
    "#);
    assert!(workflows(&env).is_empty());
}

#[test]
fn run_wait_follows_the_job_to_complete() {
    let env = TestEnv::demo();
    plan(&env, 30, JobOutcome::Complete);
    let out = fast(
        &env,
        &[
            "pipeline",
            "run",
            "DicomToNifti",
            "-E",
            "XNAT_E00001",
            "--wait",
            "-o",
            "json",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let v = json_of(&out);
    assert_eq!(v["job_id"], 1);
    assert_eq!(v["result"]["id"], 1);
    assert_eq!(v["final_status"]["status"], "Complete");
    assert!(v["final_status"]["end_time"].is_string());
    assert!(stderr_of(&out).ends_with("✓ Pipeline completed: Complete\n"));
    assert_eq!(status_of(&env, 1), "Complete");
}

#[test]
fn run_wait_exits_1_when_the_job_fails() {
    let env = TestEnv::demo();
    plan(&env, 30, JobOutcome::Failed);
    let out = fast(
        &env,
        &[
            "pipeline",
            "run",
            "DicomToNifti",
            "-E",
            "XNAT_E00001",
            "--wait",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out)
            .ends_with("error: job 1 ended with status 'Failed': step 2 of 2 exited with code 1\n"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn run_wait_gives_up_at_the_timeout_with_exit_4_and_leaves_the_job_running() {
    let env = TestEnv::demo();
    plan(&env, 20, JobOutcome::Hang);
    let started = Instant::now();
    let out = fast(
        &env,
        &[
            "pipeline",
            "run",
            "DicomToNifti",
            "-E",
            "XNAT_E00001",
            "--wait",
            "--timeout",
            "0.3",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        stderr_of(&out).contains("job 1 after 0.3s: still 'Running'"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(status_of(&env, 1), "Running");
    assert!(
        !env.request_lines().iter().any(|l| l.starts_with("PUT ")),
        "a timeout does not cancel the job"
    );
}

#[test]
fn status_watch_ends_with_the_final_record_and_ctrl_c_exits_7() {
    let env = TestEnv::demo();
    plan(&env, 30, JobOutcome::Complete);
    let out = command(
        &env,
        &["pipeline", "run", "DicomToNifti", "-E", "XNAT_E00001"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let out = fast(&env, &["pipeline", "status", "1", "--watch", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(json_of(&out)["status"], "Complete");

    plan(&env, 20, JobOutcome::Hang);
    let out = command(
        &env,
        &["pipeline", "run", "DicomToNifti", "-E", "XNAT_E00001"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    env.clear_requests();
    let child = spawn(&fast(&env, &["pipeline", "status", "2", "--watch"]));
    crate::support::wait_for_request(&env, |l| l.starts_with("GET /data/workflows/2"));
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr_of(&out));
    assert_eq!(status_of(&env, 2), "Running");
}

#[test]
fn jobs_lists_the_latest_job_of_each_experiment_with_its_id() {
    let env = TestEnv::demo();
    plan(&env, 60_000, JobOutcome::Complete);
    for (name, e) in [
        ("DicomToNifti", "XNAT_E00001"),
        ("AutoRun", "XNAT_E00001"),
        ("DicomToNifti", "XNAT_E00002"),
    ] {
        let out = command(&env, &["pipeline", "run", name, "-E", e])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    }
    let out = command(
        &env,
        &[
            "pipeline",
            "jobs",
            "-o",
            "tsv",
            "--columns",
            "id,pipeline,experiment,status",
        ],
    )
    .output()
    .unwrap();
    insta::assert_snapshot!(stdout_of(&out), @r"
    id	pipeline	experiment	status
    2	AutoRun	XNAT_E00001	Queued
    3	DicomToNifti	XNAT_E00002	Queued
    ");
    let q = |args: &[&str]| {
        let out = command(&env, args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr_of(&out));
        stdout_of(&out)
    };
    assert_eq!(q(&["pipeline", "jobs", "-E", "XNAT_E00002", "-q"]), "3\n");
    assert_eq!(
        q(&["pipeline", "jobs", "-P", "DEMO_MR", "--limit", "1", "-q"]),
        "2\n"
    );
    assert_eq!(q(&["pipeline", "jobs", "-P", "DEMO_CT", "-q"]), "");
    assert_eq!(q(&["pipeline", "jobs", "--status", "Complete", "-q"]), "");
    let out = command(&env, &["pipeline", "jobs", "--status", " "])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn cancel_marks_the_job_killed_after_asking() {
    let env = TestEnv::demo();
    plan(&env, 60_000, JobOutcome::Complete);
    let out = command(
        &env,
        &["pipeline", "run", "DicomToNifti", "-E", "XNAT_E00001"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let r = report(
        &env,
        command(&env, &["pipeline", "cancel", "1", "--dry-run"]),
    );
    insta::assert_snapshot!(r, @r"
    exit 0
    --- stdout
    --- stderr
    [dry-run] preview mode: no changes will be made
    [dry-run] Would cancel job 1 (DicomToNifti on XNAT_E00001, now Queued)
    --- writes
    ");
    // `user` may see the job but did not launch it: XNAT refuses (403, exit 6).
    let out = env
        .bare_cmd()
        .args(["pipeline", "cancel", "1", "-y"])
        .env("XNAT_URL", env.url())
        .env("XNAT_USER", "user")
        .env("XNAT_PASS", "user")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    assert_eq!(status_of(&env, 1), "Queued");
    let r = report(&env, command(&env, &["pipeline", "cancel", "1", "-y"]));
    insta::assert_snapshot!(r, @r"
    exit 0
    --- stdout
    --- stderr
    ✓ Cancelled job 1
    --- writes
    PUT /data/workflows/1?wrk%3AworkflowData%2Fstatus=Killed
    ");
    assert_eq!(status_of(&env, 1), "Killed");
    for args in [
        &["pipeline", "cancel", "9", "-y"][..],
        &["pipeline", "status", "9"],
    ] {
        let r = report(&env, command(&env, args));
        assert!(
            r.starts_with("exit 5\n") && r.contains("error: pipeline job not found: 9\n"),
            "{r}"
        );
    }
    let r = report(&env, command(&env, &["pipeline", "status", "JOB123"]));
    assert!(r.starts_with("exit 1\n"), "{r}");
}
