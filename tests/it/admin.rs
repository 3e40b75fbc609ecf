//! `admin` against the simulator: site information.

use crate::support::{command, report, run, stderr_of, stdout_of, with_format, TestEnv, FORMATS};
use xnat_sim::{SimConfig, UserSpec};

crate::support::shared!(TestEnv::demo);

#[test]
fn version_prints_the_build_information_in_each_format() {
    let env = shared();
    let out = |fmt| report(env, command(env, &with_format(&["admin", "version"], fmt)));
    insta::assert_snapshot!(out(FORMATS[3]), @r"
    exit 0
    --- stdout
    1.8.10
    --- stderr
    --- writes
    ");
    let json = out(FORMATS[1]);
    assert!(json.contains("\n  \"version\": \"1.8.10\",\n"), "{json}");
    assert!(json.contains("\n  \"buildNumber\": \"1651\",\n"), "{json}");
    let table = out(FORMATS[0]);
    assert!(table.contains("\nVersion            1.8.10\n"), "{table}");
    let tsv = out(FORMATS[2]);
    let mut lines = tsv.lines().skip(2);
    let (header, row) = (lines.next().unwrap(), lines.next().unwrap());
    assert!(
        header.starts_with("version\tbuildNumber\tbuildDate\t"),
        "{tsv}"
    );
    assert!(row.starts_with("1.8.10\t1651\t"), "{tsv}");
}

#[test]
fn version_without_a_server_fails_with_exit_4() {
    let env = TestEnv::empty();
    let out = env
        .bare_cmd()
        .args(["admin", "version"])
        .env("XNAT_URL", "http://127.0.0.1:9")
        .env("XNAT_USER", "admin")
        .env("XNAT_PASS", "admin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
}

#[test]
fn site_config_get_prints_one_value_in_each_format() {
    let env = shared();
    let out = |fmt| {
        report(
            env,
            command(
                env,
                &with_format(&["admin", "site-config", "get", "siteId"], fmt),
            ),
        )
    };
    insta::assert_snapshot!(out(FORMATS[0]), @r#"
    exit 0
    --- stdout
    "XNAT"
    --- stderr
    --- writes
    "#);
    insta::assert_snapshot!(out(FORMATS[1]), @r#"
    exit 0
    --- stdout
    "XNAT"
    --- stderr
    --- writes
    "#);
    insta::assert_snapshot!(out(FORMATS[3]), @r"
    exit 0
    --- stdout
    XNAT
    --- stderr
    --- writes
    ");
    let typed = report(
        env,
        command(
            env,
            &["admin", "site-config", "get", "checksums", "-o", "json"],
        ),
    );
    insta::assert_snapshot!(typed, @r"
    exit 0
    --- stdout
    true
    --- stderr
    --- writes
    ");
}

#[test]
fn site_config_get_without_a_key_dumps_everything_with_a_warning() {
    let env = shared();
    let out = command(env, &["admin", "site-config", "get", "-o", "json"])
        .output()
        .unwrap();
    let (stdout, stderr) = (stdout_of(&out), stderr_of(&out));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Dumping the entire site configuration"),
        "{stderr}"
    );
    assert!(stdout.contains("\n  \"siteId\": \"XNAT\",\n"), "{stdout}");
    assert!(stdout.contains("\n  \"checksums\": true,\n"), "{stdout}");
    let q = command(env, &["admin", "site-config", "get", "-q"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&q), "XNAT\n");
}

#[test]
fn site_config_get_of_an_unknown_key_exits_5() {
    let env = shared();
    let out = command(env, &["admin", "site-config", "get", "noSuchPreference"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
}

#[test]
fn site_config_set_posts_text_and_the_value_reads_back() {
    let env = TestEnv::demo();
    let set = report(
        &env,
        command(
            &env,
            &["admin", "site-config", "set", "siteId", "DEMO", "--yes"],
        ),
    );
    insta::assert_snapshot!(set, @r"
    exit 0
    --- stdout
    --- stderr
    ✓ Set siteId = DEMO
    --- writes
    POST /xapi/siteConfig/siteId
    ");
    let (got, code) = run(&env, &["admin", "site-config", "get", "siteId", "-q"]);
    assert_eq!((got.as_str(), code), ("DEMO\n", 0));
}

#[test]
fn site_config_set_dry_run_shows_current_and_new_and_masks_secrets() {
    let env = TestEnv::demo();
    let dry = report(
        &env,
        command(
            &env,
            &["admin", "site-config", "set", "siteId", "DEMO", "--dry-run"],
        ),
    );
    insta::assert_snapshot!(dry, @r"
    exit 0
    --- stdout
    --- stderr
    [dry-run] preview mode: no changes will be made
    [dry-run] siteId: XNAT -> DEMO
    --- writes
    ");
    let secret = report(
        &env,
        command(
            &env,
            &[
                "admin",
                "site-config",
                "set",
                "smtpPassword",
                "hunter2",
                "--yes",
            ],
        ),
    );
    assert!(!secret.contains("hunter2"), "{secret}");
    insta::assert_snapshot!(secret, @r"
    exit 0
    --- stdout
    --- stderr
    ✓ Set smtpPassword = ***
    --- writes
    POST /xapi/siteConfig/smtpPassword
    ");
    let unknown = report(
        &env,
        command(
            &env,
            &["admin", "site-config", "set", "fooToken", "x", "--dry-run"],
        ),
    );
    insta::assert_snapshot!(unknown, @r"
    exit 0
    --- stdout
    --- stderr
    [dry-run] preview mode: no changes will be made
    [dry-run] fooToken: <unknown> -> ***
    --- writes
    ");
}

#[test]
fn site_config_set_by_a_non_admin_exits_6_and_unattended_exits_2() {
    let mut cfg = SimConfig::default();
    cfg.users.push(UserSpec::new("alice", "alice-pw", false));
    let env = TestEnv::with(cfg);
    let out = env
        .bare_cmd()
        .args(["admin", "site-config", "set", "siteId", "X", "--yes"])
        .env("XNAT_URL", env.url())
        .env("XNAT_USER", "alice")
        .env("XNAT_PASS", "alice-pw")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    // No terminal and no --yes: a usage error, nothing posted.
    let unattended = report(
        &env,
        command(&env, &["admin", "site-config", "set", "siteId", "X"]),
    );
    assert!(unattended.starts_with("exit 2\n"), "{unattended}");
    assert!(unattended.ends_with("--- writes\n\n"), "{unattended}");
}

#[test]
fn plugins_lists_the_installed_plugins_in_each_format() {
    let env = shared();
    let out = |fmt| report(env, command(env, &with_format(&["admin", "plugins"], fmt)));
    insta::assert_snapshot!(out(FORMATS[0]), @r"
    exit 0
    --- stdout
    ┌──────────────────┬───────────────────┬───────────┐
    │ ID               ┆ Name              ┆ Version   │
    ╞══════════════════╪═══════════════════╪═══════════╡
    │ containers       ┆ Container Service ┆ 3.4.3-fat │
    │ ohifViewerPlugin ┆ OHIF Viewer       ┆ 3.6.2     │
    └──────────────────┴───────────────────┴───────────┘
    --- stderr
    --- writes
    ");
    insta::assert_snapshot!(out(FORMATS[2]), @r"
    exit 0
    --- stdout
    id	name	version
    containers	Container Service	3.4.3-fat
    ohifViewerPlugin	OHIF Viewer	3.6.2
    --- stderr
    --- writes
    ");
    insta::assert_snapshot!(out(FORMATS[3]), @r"
    exit 0
    --- stdout
    containers
    ohifViewerPlugin
    --- stderr
    --- writes
    ");
    let json = out(FORMATS[1]);
    assert!(
        json.contains("\"pluginClass\": \"org.nrg.containers.ContainersPlugin\""),
        "{json}"
    );
}

#[test]
fn plugins_show_prints_one_plugin_and_an_unknown_id_exits_5() {
    let env = shared();
    let q = report(
        env,
        command(env, &["admin", "plugins", "show", "containers", "-q"]),
    );
    insta::assert_snapshot!(q, @r"
    exit 0
    --- stdout
    containers
    --- stderr
    --- writes
    ");
    let table = report(
        env,
        command(env, &["admin", "plugins", "show", "containers"]),
    );
    assert!(table.contains("\nVersion "), "{table}");
    let (_, code) = run(env, &["admin", "plugins", "show", "noSuchPlugin"]);
    assert_eq!(code, 5);
}

fn env_with_alice() -> TestEnv {
    let mut cfg = SimConfig::default();
    cfg.users.push(UserSpec::new("alice", "alice-pw", false));
    TestEnv::with(cfg)
}

#[test]
fn user_list_show_groups_and_roles() {
    let env = env_with_alice();
    let out = |args: &[&str]| report(&env, command(&env, args));
    insta::assert_snapshot!(out(&["admin", "user", "list"]), @r"
    exit 0
    --- stdout
    ┌──────────┬───────────────────┬─────────┬──────────┬────────────┐
    │ Username ┆ Email             ┆ Enabled ┆ Verified ┆ Last Login │
    ╞══════════╪═══════════════════╪═════════╪══════════╪════════════╡
    │ admin    ┆ admin@example.org ┆ Yes     ┆ Yes      ┆            │
    │ alice    ┆ alice@example.org ┆ Yes     ┆ Yes      ┆            │
    └──────────┴───────────────────┴─────────┴──────────┴────────────┘
    --- stderr
    --- writes
    ");
    insta::assert_snapshot!(out(&["admin", "user", "list", "-o", "json"]), @r#"
    exit 0
    --- stdout
    [
      {
        "username": "admin",
        "email": "admin@example.org",
        "enabled": true,
        "verified": true,
        "last_login": ""
      },
      {
        "username": "alice",
        "email": "alice@example.org",
        "enabled": true,
        "verified": true,
        "last_login": ""
      }
    ]
    --- stderr
    --- writes
    "#);
    insta::assert_snapshot!(out(&["admin", "user", "list", "--active", "-q"]), @r"
    exit 0
    --- stdout
    admin
    --- stderr
    --- writes
    ");
    insta::assert_snapshot!(out(&["admin", "user", "show", "alice", "-o", "json"]), @r#"
    exit 0
    --- stdout
    {
      "id": 2,
      "username": "alice",
      "firstName": "alice",
      "lastName": "User",
      "email": "alice@example.org",
      "enabled": true,
      "verified": true,
      "secured": true
    }
    --- stderr
    --- writes
    "#);
    insta::assert_snapshot!(out(&["admin", "user", "roles", "admin", "-o", "tsv"]), @r"
    exit 0
    --- stdout
    role
    Administrator
    non_expiring
    --- stderr
    --- writes
    ");
    insta::assert_snapshot!(out(&["admin", "user", "groups", "admin", "-q"]), @r"
    exit 0
    --- stdout
    ALL_DATA_ADMIN
    --- stderr
    --- writes
    ");
    let (_, code) = run(&env, &["admin", "user", "show", "nobody"]);
    assert_eq!(code, 5);
}

#[test]
fn user_disable_and_enable_change_the_account() {
    let env = env_with_alice();
    let out = |args: &[&str]| report(&env, command(&env, args));
    insta::assert_snapshot!(out(&["admin", "user", "disable", "alice", "--dry-run"]), @r"
    exit 0
    --- stdout
    --- stderr
    [dry-run] preview mode: no changes will be made
    [dry-run] would disable user: alice
    --- writes
    ");
    insta::assert_snapshot!(out(&["admin", "user", "disable", "alice", "--yes"]), @r"
    exit 0
    --- stdout
    --- stderr
    ✓ Disabled user: alice
    --- writes
    PUT /xapi/users/alice/enabled/false
    ");
    let (json, _) = run(&env, &["admin", "user", "show", "alice", "-o", "json"]);
    assert!(json.contains("\"enabled\": false"), "{json}");
    insta::assert_snapshot!(out(&["admin", "user", "enable", "alice", "--yes"]), @r"
    exit 0
    --- stdout
    --- stderr
    ✓ Enabled user: alice
    --- writes
    PUT /xapi/users/alice/enabled/true
    ");
    let (json, _) = run(&env, &["admin", "user", "show", "alice", "-o", "json"]);
    assert!(json.contains("\"enabled\": true"), "{json}");
}

#[test]
fn user_kill_sessions_really_ends_them_and_non_admins_get_exit_6() {
    let env = env_with_alice();
    let as_alice = |args: &[&str]| {
        env.bare_cmd()
            .args(args)
            .env("XNAT_URL", env.url())
            .env("XNAT_USER", "alice")
            .env("XNAT_PASS", "alice-pw")
            .output()
            .unwrap()
    };
    let denied = as_alice(&["admin", "user", "list"]);
    assert_eq!(denied.status.code(), Some(6), "{}", stderr_of(&denied));
    // alice logs in (a live session) ...
    let (active, _) = run(&env, &["admin", "user", "list", "--active", "-q"]);
    assert!(active.contains("alice"), "{active}");
    insta::assert_snapshot!(
        report(&env, command(&env, &["admin", "user", "kill-sessions", "alice", "--yes"])),
        @r"
        exit 0
        --- stdout
        --- stderr
        ✓ Terminated active sessions for: alice
        --- writes
        DELETE /xapi/users/active/alice
        "
    );
    let (active, _) = run(&env, &["admin", "user", "list", "--active", "-q"]);
    assert!(!active.contains("alice"), "{active}");
    // No session left: XNAT answers 304 (no action taken), which is not an error.
    insta::assert_snapshot!(
        report(&env, command(&env, &["admin", "user", "kill-sessions", "alice", "--yes"])),
        @r"
        exit 0
        --- stdout
        --- stderr
        No active sessions for: alice (nothing to terminate)
        --- writes
        DELETE /xapi/users/active/alice
        "
    );
    assert_eq!(
        env.sim
            .requests()
            .last()
            .map(|r| (r.path.clone(), r.status)),
        Some(("/xapi/users/active/alice".to_string(), 304))
    );
    let unknown = command(&env, &["admin", "user", "kill-sessions", "nobody", "--yes"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(5), "{}", stderr_of(&unknown));
}

#[test]
fn user_roles_grant_and_revoke_change_the_roles() {
    let env = env_with_alice();
    let out = |args: &[&str]| report(&env, command(&env, args));
    insta::assert_snapshot!(out(&["admin", "user", "roles", "alice", "--grant", "Administrator", "--yes"]), @r"
    exit 0
    --- stdout
    --- stderr
    ✓ Granted role Administrator for user: alice
    --- writes
    PUT /xapi/users/alice/roles/Administrator
    ");
    let (roles, _) = run(&env, &["admin", "user", "roles", "alice", "-q"]);
    assert_eq!(roles, "Administrator\n");
    insta::assert_snapshot!(out(&["admin", "user", "roles", "alice", "--revoke", "Administrator", "--dry-run"]), @r"
    exit 0
    --- stdout
    --- stderr
    [dry-run] preview mode: no changes will be made
    [dry-run] would revoke role Administrator for user: alice
    --- writes
    ");
    insta::assert_snapshot!(out(&["admin", "user", "roles", "alice", "--revoke", "Administrator", "--yes"]), @r"
    exit 0
    --- stdout
    --- stderr
    ✓ Revoked role Administrator for user: alice
    --- writes
    DELETE /xapi/users/alice/roles/Administrator
    ");
    let (roles, _) = run(&env, &["admin", "user", "roles", "alice", "-q"]);
    assert_eq!(roles, "");
    let (_, both) = run(
        &env,
        &[
            "admin", "user", "roles", "alice", "--grant", "a", "--revoke", "b", "--yes",
        ],
    );
    assert_eq!(both, 2);
}

#[test]
fn audit_sends_since_and_says_when_the_server_has_no_audit_log() {
    let env = TestEnv::demo();
    env.clear_requests();
    let out = command(
        &env,
        &[
            "admin",
            "audit",
            "-P",
            "DEMO",
            "-u",
            "alice",
            "--since",
            "2026-01-01",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let stderr = stderr_of(&out);
    assert!(stderr.contains("Audit log not available"), "{stderr}");
    let asked: Vec<String> = env
        .request_lines()
        .into_iter()
        .filter(|l| l.contains("/xapi/audit"))
        .collect();
    assert_eq!(
        asked,
        ["GET /xapi/audit?limit=50&project=DEMO&user=alice&since=2026-01-01&format=json"],
    );
    let (_, code) = run(&env, &["admin", "audit", "--action", " "]);
    assert_eq!(code, 1);
}

#[test]
fn user_remove_takes_the_user_out_of_every_project_group() {
    let env = env_with_alice();
    env.sim.with_state_mut(|st| {
        let mut p = xnat_sim::state::Project::new("PRJ", "admin");
        p.members.insert("alice".into());
        st.projects.insert("PRJ".into(), p);
    });
    let out = |args: &[&str]| report(&env, command(&env, args));
    insta::assert_snapshot!(out(&["admin", "user", "remove", "ALICE", "-P", "PRJ", "--dry-run"]), @r"
    exit 0
    --- stdout
    --- stderr
    [dry-run] preview mode: no changes will be made
    [dry-run] would remove alice from project PRJ (groups: PRJ_member)
    --- writes
    ");
    insta::assert_snapshot!(out(&["admin", "user", "remove", "alice", "-P", "PRJ", "--yes"]), @r"
    exit 0
    --- stdout
    --- stderr
    ✓ Removed alice from project PRJ (groups: PRJ_member)
    --- writes
    DELETE /data/projects/PRJ/users/PRJ_member/alice
    ");
    assert!(env
        .sim
        .with_state(|st| st.projects["PRJ"].role_of("alice").is_none()));
    let (_, code) = run(
        &env,
        &["admin", "user", "remove", "alice", "-P", "PRJ", "--yes"],
    );
    assert_eq!(code, 5);
}

#[test]
fn user_add_joins_groups_and_reports_the_ones_that_failed() {
    let env = env_with_alice();
    env.sim.with_state_mut(|st| {
        for id in ["PRJ", "P2"] {
            st.projects
                .insert(id.into(), xnat_sim::state::Project::new(id, "admin"));
        }
    });
    let out = |args: &[&str]| report(&env, command(&env, args));
    insta::assert_snapshot!(out(&["admin", "user", "add", "alice", "PRJ_owner", "--projects", "P2", "--yes"]), @r"
    exit 0
    --- stdout
    ┌───────────┐
    │ Group     │
    ╞═══════════╡
    │ PRJ_owner │
    │ P2_member │
    └───────────┘
    --- stderr
    ✓ Added alice to 2 groups
    --- writes
    PUT /xapi/users/alice/groups
    ");
    assert!(env
        .sim
        .with_state(|st| st.projects["PRJ"].owners.contains("alice")
            && st.projects["P2"].members.contains("alice")));
    insta::assert_snapshot!(out(&["admin", "user", "add", "alice", "PRJ_member", "NOPE_member", "--yes", "-o", "json"]), @r#"
    exit 1
    --- stdout
    {
      "username": "alice",
      "added": [
        "PRJ_member"
      ],
      "failed": [
        "NOPE_member"
      ]
    }
    --- stderr
    ✓ Added alice to 1/2 groups
    error: Failed to add to 1 groups: NOPE_member
    --- writes
    PUT /xapi/users/alice/groups
    "#);
}

#[test]
fn refresh_catalogs_posts_one_refresh_per_experiment() {
    let env = TestEnv::demo();
    let (ids, _) = run(&env, &["session", "list", "-P", "DEMO_MR", "-q"]);
    let first = ids.lines().next().expect("demo sessions").to_string();
    let out = report(
        &env,
        command(
            &env,
            &[
                "admin",
                "refresh-catalogs",
                "DEMO_MR",
                "-O",
                "checksum",
                "-O",
                "populateStats",
                "-E",
                &first,
                "--yes",
                "-o",
                "json",
            ],
        ),
    );
    assert!(out.starts_with("exit 0\n"), "{out}");
    assert!(out.contains("\"status\": \"success\""), "{out}");
    assert!(
        out.contains("POST /data/services/refresh/catalog?resource=%2Farchive%2Fprojects%2FDEMO_MR%2Fsubjects%2F"),
        "{out}"
    );
    assert!(out.contains("options=checksum%2CpopulateStats"), "{out}");
    let all = report(
        &env,
        command(
            &env,
            &[
                "admin",
                "refresh-catalogs",
                "DEMO_MR",
                "--yes",
                "-q",
                "-w",
                "2",
            ],
        ),
    );
    let n = ids.lines().count();
    assert_eq!(
        all.matches("POST /data/services/refresh/catalog").count(),
        n,
        "{all}"
    );
    let dry = report(
        &env,
        command(
            &env,
            &[
                "admin",
                "refresh-catalogs",
                "DEMO_MR",
                "--limit",
                "1",
                "--dry-run",
            ],
        ),
    );
    assert!(dry.ends_with("--- writes\n\n"), "{dry}");
}

#[test]
fn docker_images_hubs_and_server() {
    let env = shared();
    let out = |args: &[&str]| report(env, command(env, args));
    insta::assert_snapshot!(out(&["admin", "docker", "images", "-o", "tsv"]), @r#"
    exit 0
    --- stdout
    image-id	tags
    sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741	["busybox:latest"]
    sha256:9c1e8f1c2f4b0d6b6d1e3a1b8a7c2d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c	["xnat/dcm2niix:latest","xnat/dcm2niix:1.0"]
    --- stderr
    --- writes
    "#);
    insta::assert_snapshot!(out(&["admin", "docker", "hubs"]), @r"
    exit 0
    --- stdout
    ┌────┬────────────┬─────────────────────────────┬─────────┐
    │ ID ┆ Name       ┆ URL                         ┆ Default │
    ╞════╪════════════╪═════════════════════════════╪═════════╡
    │ 1  ┆ Docker Hub ┆ https://index.docker.io/v1/ ┆ Yes     │
    └────┴────────────┴─────────────────────────────┴─────────┘
    --- stderr
    --- writes
    ");
    insta::assert_snapshot!(out(&["admin", "docker", "server", "-q"]), @r"
    exit 0
    --- stdout
    unix:///var/run/docker.sock
    --- stderr
    --- writes
    ");
}

#[test]
fn docker_pull_posts_the_image_and_dry_run_sends_nothing() {
    let env = TestEnv::demo();
    let out = |args: &[&str]| report(&env, command(&env, args));
    insta::assert_snapshot!(out(&["admin", "docker", "pull", "busybox:latest", "--no-save-commands", "--dry-run"]), @r"
    exit 0
    --- stdout
    --- stderr
    [dry-run] preview mode: no changes will be made
    [dry-run] would pull busybox:latest (save-commands=false)
    --- writes
    ");
    insta::assert_snapshot!(out(&["admin", "docker", "pull", "busybox:latest", "--yes"]), @r"
    exit 0
    --- stdout
    --- stderr
    ✓ Pulled busybox:latest
    --- writes
    POST /xapi/docker/pull?image=busybox%3Alatest&save-commands=true
    ");
    // The daemon now holds a pulled image (already-held tags are not duplicated).
    let tags = |env: &TestEnv| {
        let (json, _) = run(env, &["admin", "docker", "images", "-o", "json"]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i["tags"][0].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(tags(&env), ["busybox:latest", "xnat/dcm2niix:latest"]);
    run(&env, &["admin", "docker", "pull", "alpine", "--yes"]);
    assert_eq!(
        tags(&env),
        ["busybox:latest", "xnat/dcm2niix:latest", "alpine:latest"]
    );
    // An empty site's daemon holds no image until one is pulled.
    let empty = TestEnv::empty();
    assert!(tags(&empty).is_empty());
}

#[test]
fn docker_server_set_host_posts_the_setting_without_ping() {
    let env = TestEnv::demo();
    let out = |args: &[&str]| report(&env, command(&env, args));
    insta::assert_snapshot!(out(&["admin", "docker", "server", "--set-host", "tcp://10.0.0.5:2375", "--dry-run"]), @r"
    exit 0
    --- stdout
    --- stderr
    [dry-run] preview mode: no changes will be made
    [dry-run] would set the Docker daemon host to tcp://10.0.0.5:2375
    --- writes
    ");
    insta::assert_snapshot!(out(&["admin", "docker", "server", "--set-host", "tcp://10.0.0.5:2375", "--yes", "-q"]), @r"
    exit 0
    --- stdout
    tcp://10.0.0.5:2375
    --- stderr
    --- writes
    POST /xapi/docker/server
    ");
    let (host, _) = run(&env, &["admin", "docker", "server", "-q"]);
    assert_eq!(host, "tcp://10.0.0.5:2375\n");
}
