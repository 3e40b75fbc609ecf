//! Requests per list and show command against a project of 200 subjects x 2 sessions (issue 10):
//! a real XNAT answers each request in tens to hundreds of milliseconds, so a listing that asked
//! once per row would take seconds there. Every count is pinned, login excluded; the table with
//! the reference's counts is docs/requests.md (scripts/audit-requests.sh prints it).

use crate::support::{stderr_of, TestEnv};

fn generated() -> TestEnv {
    TestEnv::with(xnat_sim::SimConfig {
        generate: Some(
            "projects=1,subjects=200,sessions=2,scans=3,files=2,file-size=64"
                .parse()
                .unwrap(),
        ),
        ..Default::default()
    })
}

/// The requests `args` made, login left out.
fn requests_of(env: &TestEnv, args: &[&str]) -> Vec<String> {
    env.clear_requests();
    let out = env.cmd().args(args).output().expect("xnatctl runs");
    assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
    env.request_lines()
        .into_iter()
        .filter(|l| !l.starts_with("POST /data/JSESSION"))
        .collect()
}

#[test]
fn no_list_or_show_command_makes_a_request_per_row() {
    let env = &generated();
    let (e, elabel, s) = env.sim.with_state(|st| {
        let e = st.experiments.values().next().unwrap();
        let s = st.subjects.get(&e.subject_id).unwrap();
        (e.id.clone(), e.label.clone(), s.label.clone())
    });
    let p = "GEN00001";
    let cases: &[(&[&str], usize)] = &[
        (&["project", "list"], 1),
        (&["project", "show", p], 3),
        (&["project", "users", p], 1),
        (&["subject", "list", "-P", p], 2),
        (&["subject", "show", &s, "-P", p], 3),
        (&["session", "list", "-P", p], 1),
        (&["session", "list", "-P", p, "-S", &s], 1),
        (&["session", "show", "-E", &e], 4),
        (&["session", "show", "-E", &elabel, "-P", p], 4),
        (&["scan", "list", "-E", &e], 2),
        (&["scan", "list", "-E", &elabel, "-P", p], 2),
        (&["scan", "show", "1", "-E", &e], 3),
        (&["resource", "list", &e], 1),
        (&["resource", "list", &e, "--scan", "1"], 1),
        (&["resource", "list", "-P", p], 1),
        (&["resource", "list", "-P", p, "-S", &s], 1),
        (&["resource", "show", &e, "DICOM", "--scan", "1"], 2),
        (&["prearchive", "list"], 1),
        (&["search", "list"], 1),
    ];
    let mut wrong = Vec::new();
    for (args, want) in cases {
        let got = requests_of(env, args);
        if got.len() != *want {
            wrong.push(format!(
                "{args:?}: {} requests, pinned {want}: {got:#?}",
                got.len()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // vars export: two requests for 200 subjects or 400 sessions (the request log is one per
    // simulator, so this stays in the same test).
    let dir = tempfile::tempdir().unwrap();
    for level in ["subject", "session"] {
        let out = dir.path().join(format!("{level}.csv"));
        let got = requests_of(
            env,
            &[
                "vars",
                "export",
                "-P",
                "GEN00001",
                "--level",
                level,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(got.len(), 2, "{got:#?}");
        let rows = std::fs::read_to_string(&out).unwrap().lines().count();
        assert_eq!(rows, if level == "subject" { 201 } else { 401 });
    }
}

/// The show commands send their independent requests together: two waves for `session show`
/// (the session lookup, then its scans, resources and shares at once), not four.
#[test]
fn session_show_sends_its_listings_together() {
    let env = TestEnv::demo();
    env.sim
        .add_fault(xnat_sim::FaultRule::latency("GET", "/data/*", 300));
    let started = std::time::Instant::now();
    let got = requests_of(&env, &["session", "show", "-E", "XNAT_E00001"]);
    let took = started.elapsed();
    assert_eq!(got.len(), 4, "{got:#?}");
    // One after the other the four would take 1,200 ms; two waves take 600 ms.
    assert!(took < std::time::Duration::from_millis(1_100), "{took:?}");
}
