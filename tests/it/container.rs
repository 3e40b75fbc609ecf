//! Container Service: `command`, `wrapper` and `container` against the simulator's plugin
//! endpoints (`/xapi/commands`, `/xapi/wrappers`, `/xapi/projects/{p}/wrappers`, `/xapi/containers`).

use std::path::PathBuf;

use crate::support::{command, report, TestEnv};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures")
        .join(name)
}

fn dcm2niix() -> String {
    fixture("dcm2niix-command.json").display().to_string()
}

/// Register the dcm2niix command through the CLI; its id.
fn register(env: &TestEnv) -> u64 {
    let out = command(env, &["command", "create", &dcm2niix(), "-y", "-q"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn stored(env: &TestEnv, id: u64) -> serde_json::Value {
    env.sim.with_state(|st| {
        st.cs
            .commands
            .get(&id)
            .cloned()
            .map(serde_json::Value::Object)
            .unwrap_or_default()
    })
}

fn as_user(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let mut cmd = env.bare_cmd();
    cmd.env("XNAT_URL", env.url())
        .env("XNAT_USER", "user")
        .env("XNAT_PASS", "user")
        .args(args);
    cmd.output().unwrap()
}

// ---- command -----------------------------------------------------------------------------

#[test]
fn command_create_registers_the_file_with_unknown_keys_and_prints_the_id() {
    let env = TestEnv::demo();
    let text = report(
        &env,
        command(&env, &["command", "create", &dcm2niix(), "-y"]),
    );
    let text = text.replace(&dcm2niix(), "[FILE]");
    assert_eq!(
        text,
        "exit 0\n--- stdout\nID  1\n--- stderr\n✓ Registered command 1 from [FILE]\n--- writes\nPOST /xapi/commands\n"
    );
    let c = stored(&env, 1);
    assert_eq!(c["x-site-note"], "kept as sent");
    assert_eq!(c["xnat"][0]["id"], 1);
    let (out, code) = crate::support::run(
        &env,
        &["command", "create", &dcm2niix(), "-y", "-o", "json"],
    );
    assert_eq!(code, 1, "a second identical command is refused");
    assert_eq!(out, "");
}

#[test]
fn command_list_and_show_in_each_format() {
    let env = TestEnv::demo();
    register(&env);
    let (table, code) = crate::support::run(&env, &["command", "list"]);
    assert_eq!(code, 0);
    assert_eq!(
        table,
        "┌────┬──────────┬──────────────────────┬─────────┬──────────┐\n\
         │ ID ┆ Name     ┆ Image                ┆ Version ┆ Wrappers │\n\
         ╞════╪══════════╪══════════════════════╪═════════╪══════════╡\n\
         │ 1  ┆ dcm2niix ┆ xnat/dcm2niix:latest ┆ 1.5     ┆ 1        │\n\
         └────┴──────────┴──────────────────────┴─────────┴──────────┘\n"
    );
    let (tsv, _) = crate::support::run(&env, &["command", "list", "-o", "tsv"]);
    assert_eq!(
        tsv,
        "id\tname\timage\tversion\twrapper_count\n1\tdcm2niix\txnat/dcm2niix:latest\t1.5\t1\n"
    );
    let (json, _) = crate::support::run(&env, &["command", "list", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["wrapper_count"], 1);
    assert_eq!(v[0]["xnat"][0]["name"], "dcm2niix-session");
    let (q, _) = crate::support::run(&env, &["command", "list", "-q"]);
    assert_eq!(q, "1\n");
    let (show, code) = crate::support::run(&env, &["command", "show", "1", "-o", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(v, stored(&env, 1));
    let (_, code) = crate::support::run(&env, &["command", "show", "9"]);
    assert_eq!(code, 5);
}

#[test]
fn command_create_refuses_a_bad_file_before_any_request_naming_line_and_column() {
    let env = TestEnv::demo();
    let bad = env.home.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"name\": \"x\",\n  \"image\" \"y\"\n}\n").unwrap();
    env.clear_requests();
    let out = command(&env, &["command", "create", bad.to_str().unwrap(), "-y"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.json: invalid JSON at line 3 column 11"),
        "{err}"
    );
    assert!(env.request_lines().is_empty(), "{:?}", env.request_lines());
    // a JSON document the server refuses as a command (no image): the server's reason
    std::fs::write(&bad, "{\"name\": \"x\"}").unwrap();
    let out = command(&env, &["command", "create", bad.to_str().unwrap(), "-y"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HTTP 400"), "{err}");
}

#[test]
fn command_update_replaces_the_definition_keeping_own_wrapper_ids_only() {
    let env = TestEnv::demo();
    let id = register(&env);
    let mut new = stored(&env, id);
    new["description"] = "updated".into();
    new["xnat"][0]["label"] = "renamed".into();
    let mut copied = new["xnat"][0].clone();
    copied["name"] = "second".into();
    new["xnat"].as_array_mut().unwrap().push(copied); // same id twice: the copy gets a new one
    let file = env.home.path().join("new.json");
    std::fs::write(&file, new.to_string()).unwrap();
    let f = file.to_str().unwrap();
    let dry = report(
        &env,
        command(&env, &["command", "update", "1", f, "--dry-run"]),
    );
    assert!(dry.contains("-  \"description\": \"Runs dcm2niix on a session's scans\",\n+  \"description\": \"updated\","), "{dry}");
    assert!(dry.ends_with("--- writes\n\n"), "{dry}");
    let out = report(&env, command(&env, &["command", "update", "1", f, "-y"]));
    assert!(out.starts_with("exit 0\n"), "{out}");
    assert!(
        out.ends_with("--- writes\nPOST /xapi/commands/1\n"),
        "{out}"
    );
    let after = stored(&env, id);
    assert_eq!(after["description"], "updated");
    let ids: Vec<u64> = after["xnat"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2]);
    // leaving the wrappers out deletes them
    std::fs::write(
        &file,
        r#"{"name": "dcm2niix", "image": "xnat/dcm2niix:latest"}"#,
    )
    .unwrap();
    let (_, code) = crate::support::run(&env, &["command", "update", "1", f, "-y"]);
    assert_eq!(code, 0);
    assert!(stored(&env, id).get("xnat").is_none());
    let (_, code) = crate::support::run(&env, &["command", "update", "7", f, "-y"]);
    assert_eq!(code, 5);
}

#[test]
fn command_delete_checks_first_and_needs_an_admin() {
    let env = TestEnv::demo();
    register(&env);
    let dry = report(
        &env,
        command(&env, &["command", "delete", "1", "--dry-run"]),
    );
    assert_eq!(dry, "exit 0\n--- stdout\n--- stderr\n[dry-run] preview mode: no changes will be made\n[dry-run] Would delete command 1\n--- writes\n\n");
    let denied = as_user(&env, &["command", "delete", "1", "-y"]);
    assert_eq!(denied.status.code(), Some(6));
    let out = report(&env, command(&env, &["command", "delete", "1", "-y"]));
    assert_eq!(out, "exit 0\n--- stdout\n--- stderr\n✓ Deleted command 1\n--- writes\nDELETE /xapi/commands/1\n");
    assert!(env.sim.with_state(|st| st.cs.commands.is_empty()));
    let (_, code) = crate::support::run(&env, &["command", "delete", "1", "-y"]);
    assert_eq!(code, 5);
}

// ---- wrapper -----------------------------------------------------------------------------

fn site_enabled(env: &TestEnv, wid: u64) -> bool {
    env.sim.with_state(|st| st.cs.site_enabled.contains(&wid))
}

fn project_enabled(env: &TestEnv, project: &str, wid: u64) -> bool {
    env.sim
        .with_state(|st| st.cs.project_enabled.contains(&(project.to_string(), wid)))
}

#[test]
fn wrapper_list_in_each_format_and_by_command() {
    let env = TestEnv::demo();
    register(&env);
    let (table, code) = crate::support::run(&env, &["wrapper", "list"]);
    assert_eq!(code, 0);
    assert_eq!(
        table,
        "┌────┬──────────────────┬────────────┬───────────────────────────┐\n\
         │ ID ┆ Name             ┆ Command ID ┆ Contexts                  │\n\
         ╞════╪══════════════════╪════════════╪═══════════════════════════╡\n\
         │ 1  ┆ dcm2niix-session ┆ 1          ┆ [\"xnat:imageSessionData\"] │\n\
         └────┴──────────────────┴────────────┴───────────────────────────┘\n"
    );
    let (json, _) = crate::support::run(&env, &["wrapper", "list", "--command", "1", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["command-id"], 1);
    assert_eq!(v[0]["contexts"][0], "xnat:imageSessionData");
    let (q, _) = crate::support::run(&env, &["wrapper", "list", "-q"]);
    assert_eq!(q, "1\n");
    let (_, code) = crate::support::run(&env, &["wrapper", "list", "--command", "4"]);
    assert_eq!(code, 5);
}

#[test]
fn wrapper_enable_and_disable_site_wide_and_per_project() {
    let env = TestEnv::demo();
    register(&env);
    let out = report(
        &env,
        command(&env, &["wrapper", "enable", "1", "dcm2niix-session", "-y"]),
    );
    assert_eq!(
        out,
        "exit 0\n--- stdout\n--- stderr\n✓ Enabled wrapper 1 on command 1 (site-wide)\n--- writes\nPUT /xapi/wrappers/1/enabled\n"
    );
    assert!(site_enabled(&env, 1));
    let out = report(
        &env,
        command(
            &env,
            &["wrapper", "enable", "1", "1", "-P", "DEMO_MR", "-y"],
        ),
    );
    assert!(
        out.ends_with("PUT /xapi/projects/DEMO_MR/wrappers/1/enabled\n"),
        "{out}"
    );
    assert!(project_enabled(&env, "DEMO_MR", 1));
    let dry = report(
        &env,
        command(
            &env,
            &["wrapper", "disable", "1", "1", "-P", "DEMO_MR", "--dry-run"],
        ),
    );
    assert!(
        dry.contains("[dry-run] Would disable wrapper 1 on command 1 (project DEMO_MR)\n"),
        "{dry}"
    );
    assert!(project_enabled(&env, "DEMO_MR", 1));
    let (_, code) = crate::support::run(
        &env,
        &["wrapper", "disable", "1", "1", "-P", "DEMO_MR", "-y"],
    );
    assert_eq!(code, 0);
    assert!(!project_enabled(&env, "DEMO_MR", 1));
    assert!(site_enabled(&env, 1), "the site setting is untouched");
    // an unknown wrapper lists what exists; an unknown project is not found; a non-admin
    // cannot change the site setting
    let out = command(&env, &["wrapper", "enable", "1", "nope", "-y"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "wrapper not found: nope on command 1 (available: 1 (dcm2niix-session, command 1))"
    ));
    let (_, code) = crate::support::run(&env, &["wrapper", "enable", "1", "1", "-P", "NOPE", "-y"]);
    assert_eq!(code, 5);
    assert_eq!(
        as_user(&env, &["wrapper", "disable", "1", "1", "-y"])
            .status
            .code(),
        Some(6)
    );
    assert!(site_enabled(&env, 1));
}

#[test]
fn wrapper_config_set_keeps_a_disabled_wrapper_disabled() {
    let env = TestEnv::demo();
    register(&env);
    let file = env.home.path().join("config.json");
    std::fs::write(
        &file,
        r#"{"inputs": {"bids": {"default-value": "true"}}, "outputs": {}}"#,
    )
    .unwrap();
    let f = file.to_str().unwrap();
    // never enabled: XNAT would enable it on a plain write; we send the current state
    let out = report(
        &env,
        command(&env, &["wrapper", "config", "set", "1", "1", f, "-y"]),
    );
    assert!(
        out.contains(
            "✓ Set configuration for wrapper 1 on command 1 (site-wide) (still disabled)\n"
        ),
        "{out}"
    );
    assert!(
        out.ends_with("--- writes\nPOST /xapi/wrappers/1/config?enable=false\n"),
        "{out}"
    );
    assert!(!site_enabled(&env, 1));
    // enabled for the project: stays enabled
    let (_, code) = crate::support::run(
        &env,
        &["wrapper", "enable", "1", "1", "-P", "DEMO_MR", "-y"],
    );
    assert_eq!(code, 0);
    let out = report(
        &env,
        command(
            &env,
            &[
                "wrapper",
                "config",
                "set",
                "1",
                "dcm2niix-session",
                f,
                "-P",
                "DEMO_MR",
                "-y",
            ],
        ),
    );
    assert!(
        out.ends_with("POST /xapi/projects/DEMO_MR/wrappers/1/config?enable=true\n"),
        "{out}"
    );
    assert!(project_enabled(&env, "DEMO_MR", 1));
    let (got, code) = crate::support::run(
        &env,
        &[
            "wrapper",
            "config",
            "get",
            "dcm2niix-session",
            "-P",
            "DEMO_MR",
            "-o",
            "json",
        ],
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(v["inputs"]["bids"]["default-value"], "true");
    assert_eq!(v["outputs"]["nifti"]["label"], "NIFTI");
    // the dry run shows the change and what it keeps, and writes nothing
    std::fs::write(
        &file,
        r#"{"inputs": {"bids": {"default-value": "false"}}, "outputs": {}}"#,
    )
    .unwrap();
    let dry = report(
        &env,
        command(
            &env,
            &["wrapper", "config", "set", "1", "1", f, "--dry-run"],
        ),
    );
    assert!(
        dry.contains("enabled state (disabled) will be preserved:"),
        "{dry}"
    );
    assert!(
        dry.contains("\n-      \"default-value\": \"true\",\n"),
        "{dry}"
    );
    assert!(
        dry.contains("\n+      \"default-value\": \"false\"\n"),
        "{dry}"
    );
    assert!(dry.ends_with("--- writes\n\n"), "{dry}");
}

#[test]
fn wrapper_config_get_resolves_names_and_refuses_ambiguous_ones() {
    let env = TestEnv::demo();
    register(&env);
    let (site, code) = crate::support::run(&env, &["wrapper", "config", "get", "1", "-o", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&site).unwrap();
    assert_eq!(v["inputs"]["bids"]["default-value"], "false");
    assert_eq!(v["inputs"]["session"]["required"], true);
    // the same wrapper name on a second command
    let other = env.home.path().join("other.json");
    std::fs::write(
        &other,
        std::fs::read_to_string(fixture("dcm2niix-command.json"))
            .unwrap()
            .replace("\"version\": \"1.5\"", "\"version\": \"2.0\""),
    )
    .unwrap();
    let (_, code) =
        crate::support::run(&env, &["command", "create", other.to_str().unwrap(), "-y"]);
    assert_eq!(code, 0);
    let out = command(&env, &["wrapper", "config", "get", "dcm2niix-session"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("use its id: 1 (command 1), 2 (command 2)")
    );
    let (_, code) = crate::support::run(&env, &["wrapper", "config", "get", "77"]);
    assert_eq!(code, 5);
}

// ---- container ---------------------------------------------------------------------------

use std::time::Duration;

use xnat_sim::state::containers::{Outcome, RunPlan};

/// The dcm2niix command registered, its wrapper enabled site-wide and for DEMO_MR, and
/// containers that take `step` per state and per log line.
fn ready(step_ms: u64, lines: u32, outcome: Outcome) -> TestEnv {
    let env = TestEnv::demo();
    register(&env);
    env.sim.with_state_mut(|st| {
        st.cs.site_enabled.insert(1);
        st.cs.project_enabled.insert(("DEMO_MR".into(), 1));
        st.cs.plan = RunPlan {
            step: Duration::from_millis(step_ms),
            lines,
            outcome,
        };
    });
    env
}

fn fast(env: &TestEnv, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = command(env, args);
    cmd.env("XNATCTL_POLL_MS", "20");
    cmd
}

fn status_of(env: &TestEnv, id: u64) -> String {
    env.sim.with_state(|st| {
        st.cs.containers[&id]
            .status(std::time::Instant::now())
            .to_string()
    })
}

const LAUNCH: &[&str] = &[
    "container",
    "launch",
    "dcm2niix-session",
    "-P",
    "DEMO_MR",
    "-E",
    "XNAT_E00001",
];

fn launch_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = LAUNCH.to_vec();
    v.extend_from_slice(extra);
    v
}

#[test]
fn launch_wait_follows_the_new_container_to_complete_and_prints_it() {
    let env = ready(40, 2, Outcome::Complete);
    env.clear_requests();
    let out = fast(&env, &launch_args(&["--wait", "-o", "json"]))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        err,
        "Launching wrapper 1 (dcm2niix-session) in project DEMO_MR...\n"
    );
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["id"], 1);
    assert_eq!(c["status"], "Complete");
    assert_eq!(c["wrapper-id"], 1);
    assert_eq!(c["inputs"][0]["name"], "session");
    assert_eq!(c["inputs"][0]["value"], "XNAT_E00001");
    let statuses: Vec<&str> = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["Created", "Running", "Complete"]);
    let writes: Vec<String> = env
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("POST /xapi"))
        .collect();
    assert_eq!(writes, ["POST /xapi/projects/DEMO_MR/wrappers/1/launch"]);
}

#[test]
fn launch_wait_exits_1_when_the_container_fails() {
    let env = ready(20, 1, Outcome::Failed);
    let out = fast(&env, &launch_args(&["--wait", "-q"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: container 1 ended with status 'Failed': exit code 1\n"
    );
}

#[test]
fn launch_wait_times_out_with_exit_4_and_leaves_the_container_running() {
    let env = ready(20, 1, Outcome::Hang);
    let started = std::time::Instant::now();
    let out = fast(&env, &launch_args(&["--wait", "--timeout", "0.5"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(started.elapsed() < Duration::from_secs(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("timed out: the launch of wrapper 1 in project DEMO_MR after 0.5s: still 'container 1: Running'"),
        "{err}"
    );
    assert_eq!(status_of(&env, 1), "Running");
    assert!(!env.request_lines().iter().any(|l| l.contains("/kill")));
}

#[test]
fn launch_without_wait_prints_the_queued_report() {
    let env = ready(20, 1, Outcome::Complete);
    let out = report(&env, fast(&env, &launch_args(&["--param", "bids=true"])));
    assert_eq!(
        out,
        "exit 0\n--- stdout\n--- stderr\nLaunching wrapper 1 (dcm2niix-session) in project DEMO_MR...\n✓ Launch queued: workflow-id=To be assigned wrapper-id=1\n--- writes\nPOST /xapi/projects/DEMO_MR/wrappers/1/launch\n"
    );
    let (json, code) = crate::support::run(&env, &launch_args(&["-o", "json"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["status"], "success");
    assert_eq!(v["workflow-id"], "To be assigned");
    assert_eq!(v["params"]["session"], "XNAT_E00001");
}

#[test]
fn launch_refuses_bad_input_before_launching() {
    let env = ready(20, 1, Outcome::Complete);
    env.clear_requests();
    // no '=': a usage error, before any request
    let (_, code) = crate::support::run(&env, &launch_args(&["--param", "bids"]));
    assert_eq!(code, 2);
    assert!(env.request_lines().is_empty());
    let (_, code) = crate::support::run(&env, &launch_args(&["--param", "session=X"]));
    assert_eq!(code, 1, "-E and --param for the same input");
    let out = command(&env, &["container", "launch", "nope", "-P", "DEMO_MR"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("available: 1 (dcm2niix-session, command 1)")
    );
    // not enabled for this project: XNAT would accept it and never start it
    let out = command(
        &env,
        &["container", "launch", "1", "-P", "DEMO_CT", "-E", "X"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("wrapper 1 (dcm2niix-session) is not enabled for project DEMO_CT"),
        "{err}"
    );
    assert!(
        err.contains("xnatctl wrapper enable 1 1 -P DEMO_CT"),
        "{err}"
    );
    let dry = report(&env, command(&env, &launch_args(&["--dry-run"])));
    assert!(dry.contains("[dry-run] Would launch wrapper 1 (dcm2niix-session) in project DEMO_MR with params: {\"session\":\"XNAT_E00001\"}\n"), "{dry}");
    assert!(dry.ends_with("--- writes\n\n"), "{dry}");
    assert!(env.request_lines().iter().all(|l| !l.contains("/launch")));
    let (_, code) = crate::support::run(&env, &["container", "launch", "1", "-P", "NOPE"]);
    assert_eq!(code, 5);
}

#[test]
fn container_list_and_show_in_each_format() {
    let env = ready(10, 1, Outcome::Complete);
    let (_, code) = crate::support::run(&env, LAUNCH);
    assert_eq!(code, 0);
    std::thread::sleep(Duration::from_millis(60));
    let (q, code) = crate::support::run(&env, &["container", "list", "-P", "DEMO_MR", "-q"]);
    assert_eq!((q.as_str(), code), ("1\n", 0));
    let (tsv, _) = crate::support::run(&env, &["container", "list", "-o", "tsv"]);
    let lines: Vec<&str> = tsv.lines().collect();
    assert_eq!(
        lines[0],
        "id\tstatus\tcommand-id\tproject\tuser-id\tstarted-display"
    );
    assert!(
        lines[1].starts_with("1\tComplete\t1\tDEMO_MR\tadmin\t20"),
        "{tsv}"
    );
    let (json, _) = crate::support::run(&env, &["container", "list", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["started-display"], v[0]["history"][0]["time-recorded"]);
    let (none, code) =
        crate::support::run(&env, &["container", "list", "--status", "Running", "-q"]);
    assert_eq!((none.as_str(), code), ("", 0));
    let (other, _) = crate::support::run(&env, &["container", "list", "-P", "DEMO_CT", "-q"]);
    assert_eq!(other, "");
    let (show, code) = crate::support::run(&env, &["container", "show", "1", "-o", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(v["status"], "Complete");
    let (_, code) = crate::support::run(&env, &["container", "show", "99"]);
    assert_eq!(code, 5);
    // another user sees none of admin's containers
    let out = as_user(&env, &["container", "list", "-q"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
}

#[test]
fn logs_print_the_log_and_follow_streams_each_byte_once() {
    let env = ready(60, 5, Outcome::Complete);
    let (_, code) = crate::support::run(&env, LAUNCH);
    assert_eq!(code, 0);
    let out = fast(
        &env,
        &["container", "logs", "1", "--follow", "--interval", "0.02"],
    )
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: String = (1..=5).map(|i| format!("[1] step {i} of 5\n")).collect();
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    // it really followed: several reads of a growing log
    let reads = env
        .request_lines()
        .iter()
        .filter(|l| l.ends_with("/logs/stdout"))
        .count();
    assert!(reads > 2, "{reads}");
    let (again, code) = crate::support::run(&env, &["container", "logs", "1"]);
    assert_eq!((again, code), (expected, 0));
    let (err, code) = crate::support::run(&env, &["container", "logs", "1", "--stderr"]);
    assert_eq!((err.as_str(), code), ("", 0));
    let (_, code) = crate::support::run(&env, &["container", "logs", "9"]);
    assert_eq!(
        code, 5,
        "checked first: the plugin's logs route answers 500"
    );
}

#[test]
fn logs_follow_of_a_failed_container_exits_1_after_the_whole_log() {
    let env = ready(20, 2, Outcome::Failed);
    let (_, code) = crate::support::run(&env, LAUNCH);
    assert_eq!(code, 0);
    let out = fast(&env, &["container", "logs", "1", "--stderr", "--follow"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "error: simulated failure (exit code 1)\n"
    );
}

#[test]
fn ctrl_c_stops_logs_follow_with_exit_7() {
    let env = ready(20, 1, Outcome::Hang);
    let (_, code) = crate::support::run(&env, LAUNCH);
    assert_eq!(code, 0);
    let child = crate::support::spawn(&fast(&env, &["container", "logs", "1", "--follow"]));
    // two reads of the log: the first one's bytes are written by then
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while env
        .request_lines()
        .iter()
        .filter(|l| l.ends_with("/logs/stdout"))
        .count()
        < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            env.request_lines()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    crate::support::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[1] step 1 of 1\n");
}

#[test]
fn kill_stops_a_running_container_once() {
    let env = ready(20, 1, Outcome::Hang);
    let (_, code) = crate::support::run(&env, LAUNCH);
    assert_eq!(code, 0);
    let dry = report(
        &env,
        command(&env, &["container", "kill", "1", "--dry-run"]),
    );
    assert!(
        dry.contains("[dry-run] Would kill container 1 (now "),
        "{dry}"
    );
    assert!(dry.ends_with("--- writes\n\n"), "{dry}");
    assert_eq!(
        as_user(&env, &["container", "kill", "1", "-y"])
            .status
            .code(),
        Some(6)
    );
    let out = report(&env, command(&env, &["container", "kill", "1", "-y"]));
    assert_eq!(out, "exit 0\n--- stdout\n--- stderr\n✓ Killed container 1\n--- writes\nPOST /xapi/containers/1/kill\n");
    assert_eq!(status_of(&env, 1), "Killed");
    let (_, code) = crate::support::run(&env, &["container", "kill", "1", "-y"]);
    assert_eq!(code, 1, "no longer running: the daemon's error");
    let (_, code) = crate::support::run(&env, &["container", "kill", "99", "-y"]);
    assert_eq!(code, 5);
}
