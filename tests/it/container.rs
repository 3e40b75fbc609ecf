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
