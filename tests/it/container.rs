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
