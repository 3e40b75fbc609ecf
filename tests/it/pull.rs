//! `project pull`: a verified, incremental project mirror (issue 15), against a generated
//! project of 50 sessions (25 subjects x 2 sessions, 2 scans x 3 files each).

use std::path::Path;

use crate::support::{files_under, stderr_of, TestEnv};
use xnat_sim::FaultRule;

const SESSIONS: usize = 50;
const FILES_PER_SESSION: usize = 6;

fn generated() -> TestEnv {
    TestEnv::with(xnat_sim::SimConfig {
        generate: Some(
            "projects=1,subjects=25,sessions=2,scans=2,files=3,file-size=2048"
                .parse()
                .unwrap(),
        ),
        ..Default::default()
    })
}

fn pull(env: &TestEnv, out: &Path, extra: &[&str]) -> std::process::Output {
    env.cmd()
        .args([
            "project",
            "pull",
            "-P",
            "GEN00001",
            "--session-resources",
            "--out",
        ])
        .arg(out)
        .args(["-o", "json"])
        .args(extra)
        .output()
        .unwrap()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Requests without logins.
fn requests(env: &TestEnv) -> Vec<String> {
    env.request_lines()
        .into_iter()
        .filter(|l| !l.contains("/data/JSESSION"))
        .collect()
}

/// Mirrored files (the state file and the trash left out).
fn mirrored(out: &Path) -> Vec<String> {
    files_under(out)
        .into_iter()
        .filter(|f| !f.starts_with(".xnatctl-pull") && !f.starts_with(".trash/"))
        .collect()
}

fn upload(env: &TestEnv, session: &str, file: &Path, overwrite: bool) {
    let mut cmd = env.cmd();
    cmd.args(["resource", "upload", session, "DERIVED"])
        .arg(file)
        .args(["-P", "GEN00001", "-q"]);
    if overwrite {
        cmd.arg("--overwrite");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
}

fn session_of(json: &serde_json::Value, id: &str) -> serde_json::Value {
    json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session_id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} not in {json}"))
}

#[test]
fn a_pull_mirrors_then_a_rerun_lists_once_and_the_next_pull_fetches_exactly_what_changed() {
    let env = generated();
    let notes = env.home.path().join("notes.txt");
    std::fs::write(&notes, "first version\n").unwrap();
    upload(&env, "XNAT_E00003", &notes, false);
    let out = env.home.path().join("mirror");

    let first = pull(&env, &out, &[]);
    assert!(first.status.success(), "{}", stderr_of(&first));
    let v = json(&first);
    assert_eq!(
        (v["new"].as_u64(), v["failed"].as_u64()),
        (Some(50), Some(0))
    );
    assert_eq!(mirrored(&out).len(), SESSIONS * FILES_PER_SESSION + 1);
    assert!(out
        .join("GEN00001_S0001/GEN00001_S0001_MR1/scans/1/resources/DICOM/files/000001.dcm")
        .is_file());
    let notes_path =
        out.join("GEN00001_S0002/GEN00001_S0002_MR1/resources/DERIVED/files/notes.txt");
    assert_eq!(
        std::fs::read_to_string(&notes_path).unwrap(),
        "first version\n"
    );

    // Nothing changed: one listing, no transfer.
    env.clear_requests();
    let again = pull(&env, &out, &[]);
    assert!(again.status.success(), "{}", stderr_of(&again));
    let v = json(&again);
    assert_eq!(v["unchanged"], 50);
    assert_eq!(v["files_transferred"], 0);
    assert_eq!(
        requests(&env),
        ["GET /data/projects/GEN00001/experiments?columns=ID%2Clabel%2Csubject_ID%2Csubject_label%2CxsiType%2Cmodality%2Cinsert_date%2Clast_modified&format=json"],
    );

    // Two sessions added, a file modified in a third, a fourth deleted.
    let gone_label = env.sim.with_state_mut(|st| {
        let e = st.experiments.remove("XNAT_E00004").unwrap();
        let subject = st.subjects[&e.subject_id].id.clone();
        let a = xnat_sim::fixture::add_experiment(
            st,
            "GEN00001",
            &subject,
            "NEW_MR1",
            "xnat:mrSessionData",
            "2024-02-01",
            "admin",
        );
        let b = xnat_sim::fixture::add_experiment(
            st,
            "GEN00001",
            &subject,
            "NEW_MR2",
            "xnat:mrSessionData",
            "2024-02-01",
            "admin",
        );
        (
            format!("{}/{}", st.subjects[&e.subject_id].label, e.label),
            a,
            b,
        )
    });
    let (gone, new_a, new_b) = gone_label;
    for id in [&new_a, &new_b] {
        upload(&env, id, &notes, false);
    }
    // The listing's stamps have millisecond resolution.
    std::thread::sleep(std::time::Duration::from_millis(5));
    std::fs::write(&notes, "second version\n").unwrap();
    upload(&env, "XNAT_E00003", &notes, true);

    env.clear_requests();
    let next = pull(&env, &out, &["--delete"]);
    assert!(next.status.success(), "{}", stderr_of(&next));
    let v = json(&next);
    assert_eq!(
        (
            v["new"].as_u64(),
            v["changed"].as_u64(),
            v["unchanged"].as_u64(),
            v["gone"].as_u64()
        ),
        (Some(2), Some(1), Some(48), Some(1)),
        "{v}"
    );
    assert_eq!(v["files_transferred"], 3, "{v}");
    assert_eq!(session_of(&v, "XNAT_E00003")["transferred"], 1);
    assert_eq!(session_of(&v, "XNAT_E00004")["status"], "trashed");
    // Only the three sessions were looked at beyond the listing.
    let touched: Vec<String> = requests(&env)
        .into_iter()
        .filter(|l| !l.contains("/data/projects/GEN00001/experiments?"))
        .filter(|l| {
            ![&new_a, &new_b, &"XNAT_E00003".to_string()]
                .iter()
                .any(|id| l.contains(id.as_str()))
        })
        .collect();
    assert!(touched.is_empty(), "{touched:#?}");
    assert_eq!(
        std::fs::read_to_string(&notes_path).unwrap(),
        "second version\n"
    );
    let day = chrono_today();
    assert!(!out.join(&gone).exists());
    assert!(out
        .join(".trash")
        .join(&day)
        .join(&gone)
        .join("scans/1/resources/DICOM/files/000001.dcm")
        .is_file());
    assert_eq!(mirrored(&out).len(), (SESSIONS - 1) * FILES_PER_SESSION + 3);
}

fn chrono_today() -> String {
    let out = std::process::Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let env = generated();
    let out = env.home.path().join("mirror");
    let plan = pull(&env, &out, &["--dry-run", "--subject", "GEN00001_S0001"]);
    assert!(plan.status.success(), "{}", stderr_of(&plan));
    let v = json(&plan);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["new"], 2);
    assert_eq!(v["bytes"], 2 * FILES_PER_SESSION * 2048);
    assert_eq!(session_of(&v, "XNAT_E00001")["status"], "planned");
    assert!(!out.exists());
}

#[test]
fn a_failing_session_exits_1_and_a_rerun_finishes_only_it() {
    let env = generated();
    env.sim.add_fault(FaultRule::status(
        "GET",
        "/data/experiments/XNAT_E00005/*",
        503,
        1000,
    ));
    let out = env.home.path().join("mirror");
    let first = pull(&env, &out, &[]);
    assert_eq!(first.status.code(), Some(1), "{}", stderr_of(&first));
    let v = json(&first);
    assert_eq!(v["failed"], 1);
    let failed = session_of(&v, "XNAT_E00005");
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(stderr_of(&first).contains("run the same command again"));
    assert_eq!(mirrored(&out).len(), (SESSIONS - 1) * FILES_PER_SESSION);

    env.sim.clear_faults();
    env.clear_requests();
    let again = pull(&env, &out, &[]);
    assert!(again.status.success(), "{}", stderr_of(&again));
    let v = json(&again);
    assert_eq!(
        (v["new"].as_u64(), v["unchanged"].as_u64()),
        (Some(1), Some(49)),
        "{v}"
    );
    assert_eq!(v["files_transferred"], FILES_PER_SESSION);
    assert!(requests(&env)
        .iter()
        .skip(1)
        .all(|l| l.contains("XNAT_E00005")));
    assert_eq!(mirrored(&out).len(), SESSIONS * FILES_PER_SESSION);
}

#[test]
fn a_session_list_manifest_selects_exactly_the_sessions_a_pull_mirrors() {
    let env = generated();
    let m = env.home.path().join("sel.jsonl");
    let listed = env
        .cmd()
        .args([
            "session",
            "list",
            "-P",
            "GEN00001",
            "--sort-by",
            "label:desc",
        ])
        .args(["--limit", "3", "--manifest"])
        .arg(&m)
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", stderr_of(&listed));
    let wanted: Vec<String> = std::fs::read_to_string(&m)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["session_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(wanted.len(), 3);
    let out = env.home.path().join("mirror");
    env.clear_requests();
    let o = pull(&env, &out, &["--manifest", m.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr_of(&o));
    let v = json(&o);
    assert_eq!(v["new"], 3, "{v}");
    let mut got: Vec<String> = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    let mut want = wanted.clone();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(mirrored(&out).len(), 3 * FILES_PER_SESSION);
    // Only the selected sessions' files are asked for.
    let touched: std::collections::BTreeSet<String> = requests(&env)
        .iter()
        .filter_map(|l| l.split("/experiments/").nth(1))
        .map(|rest| rest.split(['/', '?']).next().unwrap().to_string())
        .collect();
    assert_eq!(touched.into_iter().collect::<Vec<_>>(), want);

    // A session the project does not have is named, and the rest is pulled.
    let gone = env.home.path().join("gone.jsonl");
    std::fs::write(
        &gone,
        format!("{{\"project\":\"GEN00001\",\"session_id\":\"XNAT_E09999\"}}\n{{\"project\":\"GEN00001\",\"session_id\":\"{}\"}}\n", want[0]),
    )
    .unwrap();
    let o = pull(&env, &out, &["--manifest", gone.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr_of(&o));
    assert!(
        stderr_of(&o).contains("XNAT_E09999 (from the manifest) is not a session of GEN00001"),
        "{}",
        stderr_of(&o)
    );
    assert_eq!(json(&o)["unchanged"], 1);

    // A scan manifest or another project's line is refused before anything is sent.
    let scans = env.home.path().join("scans.jsonl");
    std::fs::write(
        &scans,
        "{\"project\":\"GEN00001\",\"session_id\":\"XNAT_E00001\",\"scan_id\":\"1\"}\n",
    )
    .unwrap();
    let other = env.home.path().join("other.jsonl");
    std::fs::write(
        &other,
        "{\"project\":\"OTHER\",\"session_id\":\"XNAT_E00001\"}\n",
    )
    .unwrap();
    for (file, says) in [
        (&scans, "mirrors whole sessions"),
        (&other, "of project OTHER"),
    ] {
        let fresh = env.home.path().join("fresh");
        env.clear_requests();
        let o = pull(&env, &fresh, &["--manifest", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
        assert!(stderr_of(&o).contains(says), "{}", stderr_of(&o));
        assert!(!fresh.exists());
        assert!(requests(&env).is_empty(), "{:?}", requests(&env));
    }
}
