//! The JSON contract scripts rely on: for each command, the keys of its `-o json` output and the
//! type of each value, pinned in one snapshot. Renaming a field or changing its type fails here;
//! every deliberate difference from the reference is listed in docs/differences-from-python.md.

use serde_json::{Map, Value};

use crate::support::{stderr_of, TestEnv};

crate::support::shared!(TestEnv::demo);

/// The shape of a JSON value: objects keep their keys (in order) with the shape of each value,
/// arrays the shape of their first element, scalars become their type name.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), shape(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.first().map(shape).into_iter().collect()),
        Value::String(_) => Value::from("string"),
        Value::Number(n) if n.is_f64() => Value::from("float"),
        Value::Number(_) => Value::from("integer"),
        Value::Bool(_) => Value::from("bool"),
        Value::Null => Value::from("null"),
    }
}

/// `xnatctl ARGS -o json` against `env`: the shape of its stdout, after the command's words.
fn shape_of(env: &TestEnv, args: &[&str]) -> String {
    let words = args.iter().take_while(|a| !a.starts_with('-')).copied();
    format!(
        "{}: {}",
        words.collect::<Vec<_>>().join(" "),
        json_shape(env, args)
    )
}

fn json_shape(env: &TestEnv, args: &[&str]) -> Value {
    let out = env
        .cmd()
        .args(args)
        .args(["-o", "json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e})"));
    shape(&v)
}

#[test]
fn json_keys_and_types_of_every_read_command() {
    let env = shared();
    let commands: &[&[&str]] = &[
        &["project", "list"],
        &["project", "show", "DEMO_MR"],
        &["project", "access", "DEMO_MR"],
        &["project", "users", "DEMO_MR"],
        &["subject", "list", "-P", "DEMO_MR"],
        &["subject", "show", "SUBJ001", "-P", "DEMO_MR"],
        &["subject", "vars", "SUBJ001", "-P", "DEMO_MR"],
        &["session", "list", "-P", "DEMO_MR"],
        &["session", "show", "-E", "XNAT_E00001"],
        &["scan", "list", "-E", "XNAT_E00001"],
        &["scan", "show", "-E", "XNAT_E00001", "1"],
        &["resource", "list", "XNAT_E00001", "--scan", "1"],
        &["resource", "show", "XNAT_E00001", "DICOM", "--scan", "1"],
        &["search", "list"],
        &["search", "show", "xs_demo_mr"],
        &["prearchive", "list"],
        &["prearchive", "settings", "-P", "DEMO_MR"],
        &["whoami"],
        &["health", "ping"],
        &["admin", "version"],
    ];
    let shapes: Vec<String> = commands
        .iter()
        .map(|args| format!("{}: {}", args.join(" "), json_shape(env, args)))
        .collect();
    insta::assert_snapshot!(shapes.join("\n"));
}

#[test]
fn json_keys_and_types_of_transfers() {
    let env = shared();
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).display().to_string();
    let (a, b, c) = (out("a"), out("b"), out("c"));
    let shapes = [
        shape_of(
            env,
            &["session", "download", "-E", "XNAT_E00001", "--out", &a],
        ),
        shape_of(
            env,
            &[
                "scan",
                "download",
                "-E",
                "XNAT_E00001",
                "--scans",
                "1",
                "--out",
                &b,
            ],
        ),
        shape_of(
            env,
            &[
                "resource",
                "download",
                "XNAT_E00001",
                "DICOM",
                "--scan",
                "1",
                "--out",
                &c,
            ],
        ),
    ];
    insta::assert_snapshot!(shapes.join("\n"));
}

#[test]
fn a_manifest_download_prints_one_array_of_the_single_session_documents() {
    let env = shared();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.jsonl");
    std::fs::write(
        &m,
        "{\"project\":\"DEMO_MR\",\"session_id\":\"XNAT_E00001\"}\n\
         {\"project\":\"DEMO_MR\",\"session_id\":\"XNAT_E00002\"}\n",
    )
    .unwrap();
    let m = m.display().to_string();
    let out = |name: &str| dir.path().join(name).display().to_string();
    for dry in [&[][..], &["--dry-run"]] {
        let (a, b) = (
            out(&format!("a{}", dry.len())),
            out(&format!("b{}", dry.len())),
        );
        let one = json_shape(
            env,
            &[
                &["session", "download", "-E", "XNAT_E00001", "--out", &a],
                dry,
            ]
            .concat(),
        );
        let all = env
            .cmd()
            .args([
                "session",
                "download",
                "--manifest",
                &m,
                "--out",
                &b,
                "-o",
                "json",
            ])
            .args(dry)
            .output()
            .unwrap();
        assert!(all.status.success(), "{}", stderr_of(&all));
        let v: Value = serde_json::from_slice(&all.stdout)
            .unwrap_or_else(|e| panic!("{dry:?}: stdout is not one JSON document ({e})"));
        let ids: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["session_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["XNAT_E00001", "XNAT_E00002"], "{dry:?}");
        assert_eq!(shape(&v), Value::Array(vec![one]), "{dry:?}");
    }
}

#[test]
fn json_keys_and_types_of_project_transfer() {
    let env = TestEnv::empty();
    env.sim.with_state_mut(|st| {
        xnat_sim::fixture::dicom_project(st, "SRC", (1, 1, 1, 1), 0);
    });
    let dst = xnat_sim::SimHandle::spawn(xnat_sim::SimConfig::default()).unwrap();
    dst.with_state_mut(|st| {
        st.projects
            .insert("DST".into(), xnat_sim::state::Project::new("DST", "admin"));
    });
    let url = dst.base_url();
    let dest = [
        "--dest-project",
        "DST",
        "--dest-url",
        url.as_str(),
        "--dest-user",
        "admin",
        "--dest-pass-stdin",
    ];
    let with_dest = |words: &[&str], extra: &[&str]| {
        let out = env
            .cmd()
            .args(words)
            .args(dest)
            .args(extra)
            .args(["-o", "json"])
            .write_stdin("admin\n")
            .output()
            .unwrap();
        assert!(out.status.success(), "{words:?}: {}", stderr_of(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        format!("{}: {}", words.join(" "), shape(&v))
    };
    let shapes = [
        with_dest(&["project", "transfer", "-P", "SRC"], &["-y"]),
        with_dest(&["project", "transfer-check", "-P", "SRC"], &[]),
        shape_of(&env, &["project", "transfer-status", "-P", "SRC"]),
        shape_of(&env, &["project", "transfer-history", "-P", "SRC"]),
    ];
    insta::assert_snapshot!(shapes.join("\n"));
}

#[test]
fn json_keys_and_types_of_xsync_refresh_credentials() {
    let env = TestEnv::empty();
    env.sim.with_state_mut(|st| {
        xnat_sim::fixture::dicom_project(st, "P", (1, 1, 1, 1), 0);
        st.xsync.setup("P", "https://remote.example.org", "RP");
    });
    let out = env
        .cmd()
        .args(["xsync", "refresh-credentials", "-P", "P"])
        .args(["--remote-url", "https://remote.example.org"])
        .args([
            "--remote-user",
            "alice",
            "--remote-pass-stdin",
            "-y",
            "-o",
            "json",
        ])
        .write_stdin("s3cret\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    insta::assert_snapshot!(format!("xsync refresh-credentials: {}", shape(&v)));
}

#[test]
fn json_keys_and_types_of_event_commands() {
    let env = TestEnv::demo();
    let definition = env.home.path().join("sub.json");
    std::fs::write(
        &definition,
        r#"{"name": "n", "active": true,
            "action-key": "org.nrg.xnat.eventservice.actions.EventServiceLoggingAction:org.nrg.xnat.eventservice.actions.EventServiceLoggingAction",
            "event-filter": {"event-type": "org.nrg.xnat.eventservice.events.SessionEvent", "project-ids": ["DEMO_MR"]},
            "act-as-event-user": false, "attributes": {}}"#,
    )
    .unwrap();
    let shapes = [
        shape_of(&env, &["event", "create", "sub.json", "-y"]),
        shape_of(&env, &["event", "list"]),
        shape_of(&env, &["event", "show", "1"]),
        shape_of(&env, &["event", "types"]),
        shape_of(&env, &["event", "actions"]),
    ];
    insta::assert_snapshot!(shapes.join("\n"));
}

#[test]
fn json_keys_and_types_of_auth_token() {
    // Its own simulator: issuing changes the server.
    let env = TestEnv::demo();
    let shape_in = |args: &[&str]| {
        let out = env
            .cmd()
            .env("XNATCTL_TOKEN_STORE", "file")
            .args(args)
            .args(["-o", "json"])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let words: Vec<&str> = args
            .iter()
            .take_while(|a| !a.starts_with('-'))
            .copied()
            .collect();
        format!("{}: {}", words.join(" "), shape(&v))
    };
    let shapes = [
        shape_in(&["auth", "token", "issue", "--yes"]),
        shape_in(&["auth", "token", "show"]),
        shape_in(&["auth", "token", "list"]),
        shape_in(&["doctor"]),
    ];
    insta::assert_snapshot!(shapes.join("\n"));
}

#[test]
fn json_keys_and_types_of_pipeline_commands() {
    let env = TestEnv::demo();
    // Launched jobs stay queued (so `run`'s `result` has one shape however slow the machine)...
    env.sim.with_state_mut(|st| {
        st.pipelines.plan.step = std::time::Duration::from_secs(600);
    });
    let mut shapes = vec![
        shape_of(&env, &["pipeline", "list", "-P", "DEMO_MR"]),
        shape_of(&env, &["pipeline", "list"]),
        shape_of(
            &env,
            &["pipeline", "run", "DicomToNifti", "-E", "XNAT_E00001"],
        ),
    ];
    // ... until this one is let go, to be watched to its end.
    env.sim.with_state_mut(|st| {
        if let Some(w) = st.pipelines.workflows.get_mut(&1) {
            w.plan.step = std::time::Duration::from_millis(1);
        }
    });
    shapes.extend([
        shape_of(
            &env,
            &["pipeline", "status", "1", "--watch", "--interval", "0.05"],
        ),
        shape_of(&env, &["pipeline", "jobs"]),
    ]);
    insta::assert_snapshot!(shapes.join("\n"));
}

#[test]
fn json_keys_and_types_of_the_container_service() {
    let env = TestEnv::demo();
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/fixtures/dcm2niix-command.json"
    );
    let create = shape_of(&env, &["command", "create", file, "-y"]);
    let commands: &[&[&str]] = &[
        &["command", "list"],
        &["command", "show", "1"],
        &["wrapper", "list"],
        &["wrapper", "config", "get", "1"],
    ];
    env.sim.with_state_mut(|st| {
        st.cs.site_enabled.insert(1);
        st.cs.project_enabled.insert(("DEMO_MR".into(), 1));
        st.cs.plan.step = std::time::Duration::from_millis(5);
    });
    let launch = &[
        "container",
        "launch",
        "1",
        "-P",
        "DEMO_MR",
        "-E",
        "XNAT_E00001",
    ];
    let containers: &[&[&str]] = &[
        launch,
        &["container", "list", "-P", "DEMO_MR"],
        &["container", "show", "1"],
    ];
    let mut shapes = vec![create.replace(file, "FILE")];
    shapes.extend(commands.iter().map(|args| shape_of(&env, args)));
    shapes.extend(containers.iter().map(|args| shape_of(&env, args)));
    insta::assert_snapshot!(shapes.join("\n"));
}

#[test]
fn json_keys_and_types_of_vars_apply() {
    let env = TestEnv::demo();
    let file = env.home.path().join("sessions.csv");
    std::fs::write(&file, "id,subject,site\nXNAT_E00001,SUBJ001,B\n").unwrap();
    let file = file.display().to_string();
    let dry = shape_of(
        &env,
        &["vars", "apply", "-P", "DEMO_MR", "--dry-run", &file],
    );
    let done = shape_of(&env, &["vars", "apply", "-P", "DEMO_MR", "-y", &file]);
    insta::assert_snapshot!(format!("{dry}\n{done}"), @r#"
    vars apply: [{"object":"string","id":"string","field":"string","old":"string","new":"string","status":"string","error":"null"}]
    vars apply: [{"object":"string","id":"string","field":"string","old":"string","new":"string","status":"string","error":"null"}]
    "#);
}

#[test]
fn json_keys_and_types_of_project_pull() {
    let env = shared();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mirror").display().to_string();
    let shapes = [
        shape_of(env, &["project", "pull", "-P", "DEMO_MR", "--out", &out]),
        shape_of(
            env,
            &[
                "project",
                "pull",
                "-P",
                "DEMO_MR",
                "--out",
                &out,
                "--dry-run",
            ],
        ),
    ];
    insta::assert_snapshot!(shapes.join("\n"));
}
