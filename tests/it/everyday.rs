//! The everyday commands (config, auth, whoami, health, api) and the cross-cutting promises of
//! issue 2: retries, re-authentication, secrets never on disk, exit codes, broken pipes.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::support::{stderr_of, stdout_of, TestEnv};
use xnat_sim::{FaultRule, GenerateSpec, SimConfig, UserSpec};

const ALICE_PW: &str = "Zq9-unusual-Secret!";

fn env_with_alice() -> TestEnv {
    let mut cfg = SimConfig::default();
    cfg.users.push(UserSpec::new("alice", ALICE_PW, false));
    TestEnv::with(cfg)
}

/// Every regular file under HOME whose bytes contain `needle`.
fn files_containing(env: &TestEnv, needle: &str) -> Vec<String> {
    support::files_under(env.home.path())
        .into_iter()
        .filter(|rel| {
            std::fs::read(env.home.path().join(rel))
                .map(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// `auth login` as alice with the password on stdin.
fn login_alice(env: &TestEnv) -> std::process::Output {
    env.bare_cmd()
        .env("XNAT_URL", env.url())
        .args(["auth", "login", "-u", "alice", "--password-stdin"])
        .write_stdin(format!("{ALICE_PW}\n"))
        .output()
        .unwrap()
}

fn cached_token(env: &TestEnv) -> String {
    let text = std::fs::read_to_string(env.config_dir().join(".session")).expect("cache exists");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["sessions"][0]["token"].as_str().unwrap().to_string()
}

#[test]
fn version_prints_name_and_version() {
    let env = TestEnv::empty();
    let out = env.bare_cmd().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        stdout_of(&out),
        format!("xnatctl {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn login_whoami_logout_keeps_secrets_off_disk() {
    let env = env_with_alice();
    let login = login_alice(&env);
    assert!(login.status.success(), "{}", stderr_of(&login));
    assert!(stderr_of(&login).contains("logged in to"));

    let cache = env.config_dir().join(".session");
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "session cache must be private");
    let token = cached_token(&env);
    let live = env.sim.with_state(|s| s.sessions.contains_key(&token));
    assert!(live, "the cached token is a live simulator session");

    // whoami with no credentials at all: the cached session alone authenticates it.
    env.clear_requests();
    let who = env
        .bare_cmd()
        .env("XNAT_URL", env.url())
        .args(["whoami", "-o", "json"])
        .output()
        .unwrap();
    assert!(who.status.success(), "{}", stderr_of(&who));
    let doc: serde_json::Value = serde_json::from_slice(&who.stdout).unwrap();
    assert_eq!(doc["username"], "alice");
    assert_eq!(doc["auth_mode"], "session");
    assert!(
        !env.request_lines()
            .iter()
            .any(|l| l.contains("/data/JSESSION")),
        "no second login: {:?}",
        env.request_lines()
    );

    assert!(files_containing(&env, ALICE_PW).is_empty());

    let logout = env
        .bare_cmd()
        .env("XNAT_URL", env.url())
        .args(["auth", "logout"])
        .output()
        .unwrap();
    assert!(logout.status.success());
    assert!(
        env.request_lines()
            .iter()
            .any(|l| l == "DELETE /data/JSESSION"),
        "logout ends the session on the server"
    );
    let live = env.sim.with_state(|s| s.sessions.contains_key(&token));
    assert!(!live, "the server-side session is gone");

    let after = env
        .bare_cmd()
        .env("XNAT_URL", env.url())
        .arg("whoami")
        .output()
        .unwrap();
    assert_eq!(after.status.code(), Some(3), "{}", stderr_of(&after));
    assert!(files_containing(&env, ALICE_PW).is_empty());
}

#[test]
fn stale_cached_token_reauthenticates_once_and_is_replaced() {
    let env = env_with_alice();
    let login = login_alice(&env);
    assert!(login.status.success());
    let old = cached_token(&env);
    env.sim.expire_sessions();
    env.clear_requests();

    let out = env
        .bare_cmd()
        .env("XNAT_URL", env.url())
        .env("XNAT_USER", "alice")
        .env("XNAT_PASS", ALICE_PW)
        .args(["api", "get", "/data/projects", "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let logins = support::count_requests(&env, "POST /data/JSESSION");
    assert_eq!(logins, 1, "exactly one re-login: {:?}", env.request_lines());
    let new = cached_token(&env);
    assert_ne!(old, new, "the cache holds the renewed token");
    assert!(env.sim.with_state(|s| s.sessions.contains_key(&new)));
}

#[test]
fn two_commands_whose_cached_session_the_server_dropped_log_in_again_once() {
    let env = env_with_alice();
    assert!(login_alice(&env).status.success());
    let old = cached_token(&env);
    env.sim.expire_sessions();
    // Slow logins, so the second command's 401 arrives while the first is logging in again.
    env.sim
        .add_fault(FaultRule::latency("POST", "/data/JSESSION", 400));
    env.clear_requests();
    let outs: Vec<_> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    env.bare_cmd()
                        .env("XNAT_URL", env.url())
                        .env("XNAT_USER", "alice")
                        .env("XNAT_PASS", ALICE_PW)
                        .args(["api", "get", "/data/projects", "-o", "json"])
                        .output()
                        .unwrap()
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for out in &outs {
        assert!(out.status.success(), "{}", stderr_of(out));
    }
    assert_eq!(
        support::count_requests(&env, "POST /data/JSESSION"),
        1,
        "{:?}",
        env.request_lines()
    );
    let new = cached_token(&env);
    assert_ne!(old, new);
    assert!(env.sim.with_state(|s| s.sessions.contains_key(&new)));
}

#[test]
fn python_written_config_loads_and_show_hides_passwords() {
    let env = TestEnv::empty();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::copy("tests/it/fixtures/python-config.yaml", env.config_file()).unwrap();

    let cur = env
        .bare_cmd()
        .args(["config", "current-context"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&cur), "default\n");

    let show = env
        .bare_cmd()
        .args(["config", "show", "-o", "json"])
        .output()
        .unwrap();
    assert!(show.status.success(), "{}", stderr_of(&show));
    let text = stdout_of(&show);
    assert!(!text.contains("s3cret-pw"), "password leaked: {text}");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["default_profile"], "default");
    assert_eq!(
        doc["profiles"],
        serde_json::json!(["default", "prod", "ci"])
    );
    assert_eq!(doc["profile_details"]["prod"]["default_project"], "MYPROJ");
    assert_eq!(doc["profile_details"]["prod"]["timeout"], 300);
}

#[test]
fn config_init_and_use_context_write_a_private_file() {
    let env = TestEnv::empty();
    let url = env.url();
    let init = env
        .bare_cmd()
        .args(["config", "init", "--url", &url, "--no-login", "-P", "DEMO"])
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", stderr_of(&init));
    let add = env
        .bare_cmd()
        .args([
            "config",
            "add-profile",
            "other",
            "--url",
            "https://other.example.org/",
        ])
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", stderr_of(&add));
    let mode = std::fs::metadata(env.config_file())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);

    let switch = env
        .bare_cmd()
        .args(["config", "use-context", "other"])
        .output()
        .unwrap();
    assert!(switch.status.success());
    let cur = env
        .bare_cmd()
        .args(["config", "current-context"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&cur), "other\n");

    // --force replaces only the named profile; the other one survives.
    let force = env
        .bare_cmd()
        .args([
            "config",
            "init",
            "--url",
            &url,
            "--force",
            "--no-login",
            "-p",
            "default",
        ])
        .output()
        .unwrap();
    assert!(force.status.success(), "{}", stderr_of(&force));
    let yaml = std::fs::read_to_string(env.config_file()).unwrap();
    assert!(yaml.contains("https://other.example.org"), "{yaml}");

    let unknown = env
        .bare_cmd()
        .args(["config", "use-context", "nope"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
}

#[test]
fn transient_503s_are_retried_and_logged() {
    let env = TestEnv::empty();
    env.sim
        .add_fault(FaultRule::status("GET", "/data/projects", 503, 2));
    let out = env
        .cmd()
        .args(["api", "get", "/data/projects", "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let gets = support::count_requests(&env, "GET /data/projects");
    assert_eq!(gets, 3, "{:?}", env.request_lines());
}

#[test]
fn endless_503_exits_4_after_max_retries_plus_one() {
    let env = TestEnv::empty();
    env.sim
        .add_fault(FaultRule::status("GET", "/data/projects", 503, 1000));
    let out = env
        .cmd()
        .args(["api", "get", "/data/projects"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let gets = support::count_requests(&env, "GET /data/projects");
    assert_eq!(gets, 4);
    let err = stderr_of(&out);
    assert_eq!(err.matches("retrying").count(), 3, "{err}");
    assert!(err.lines().any(|l| l.starts_with("error: ")), "{err}");
}

#[test]
fn a_post_answered_500_is_not_repeated() {
    let env = TestEnv::empty();
    env.sim.add_fault(FaultRule::status(
        "POST",
        "/data/services/refresh/catalog",
        500,
        5,
    ));
    let out = env
        .cmd()
        .args([
            "api",
            "post",
            "/data/services/refresh/catalog",
            "--params",
            "resource=/x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let posts = support::count_requests(&env, "POST /data/services/refresh/catalog");
    assert_eq!(posts, 1);
}

/// One row per error class: a name, the arguments, extra environment, and the exit code.
type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, String)>, i32);

#[test]
fn each_error_class_exits_with_its_code() {
    let env = TestEnv::empty();
    env.sim.add_fault(FaultRule::status(
        "GET",
        "/data/projects/FORBIDDEN",
        403,
        100,
    ));
    env.sim
        .add_fault(FaultRule::status("GET", "/data/projects/BROKEN", 400, 100));
    let url = env.url();
    let cases: Vec<Case> = vec![
        ("usage: unknown command", vec!["frobnicate"], vec![], 2),
        ("usage: missing argument", vec!["api", "get"], vec![], 2),
        (
            "usage: bad param",
            vec!["api", "get", "/data/projects", "--params", "x"],
            vec![],
            2,
        ),
        (
            "usage: password on argv",
            vec!["auth", "login", "-u", "admin", "--password", "admin"],
            vec![],
            2,
        ),
        (
            "auth: no credentials",
            vec!["whoami"],
            vec![("XNAT_USER", String::new()), ("XNAT_PASS", String::new())],
            3,
        ),
        (
            "auth: wrong password",
            vec!["whoami"],
            vec![("XNAT_PASS", "wrong".into())],
            3,
        ),
        (
            "network: nothing listens",
            vec!["health", "ping"],
            vec![("XNAT_URL", "http://127.0.0.1:9".into())],
            4,
        ),
        (
            "not found",
            vec!["api", "get", "/data/projects/NOPE"],
            vec![],
            5,
        ),
        (
            "permission",
            vec!["api", "get", "/data/projects/FORBIDDEN"],
            vec![],
            6,
        ),
        (
            "general: HTTP 400",
            vec!["api", "get", "/data/projects/BROKEN"],
            vec![],
            1,
        ),
        (
            "general: bad XNAT_TIMEOUT",
            vec!["whoami"],
            vec![("XNAT_TIMEOUT", "soon".into())],
            1,
        ),
        (
            "general: bad URL",
            vec!["whoami"],
            vec![("XNAT_URL", "xnat.example.org".into())],
            1,
        ),
    ];
    for (name, args, vars, code) in cases {
        let mut cmd = env.cmd();
        cmd.env("XNAT_URL", &url);
        for (k, v) in vars {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let out = cmd.args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{name}: stderr was {}",
            stderr_of(&out)
        );
        let err = stderr_of(&out);
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(!err.contains("admin:admin"), "{name}: secret in {err}");
    }
}

#[test]
fn ctrl_c_cancels_with_exit_7() {
    let env = TestEnv::empty();
    env.sim
        .add_fault(FaultRule::latency("GET", "/data/projects", 10_000));
    let mut cmd = env.cmd();
    cmd.args(["api", "get", "/data/projects"]);
    let child = support::spawn(&cmd);
    // The login is logged when it completes; the slow GET follows right after it.
    support::wait_for_request(&env, |l| l.starts_with("POST /data/JSESSION"));
    std::thread::sleep(Duration::from_millis(300));
    support::interrupt(&child);
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr_of(&out));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn piping_into_head_exits_0_quietly() {
    let env = TestEnv::with(SimConfig {
        generate: Some(GenerateSpec {
            projects: 3000,
            ..GenerateSpec::default()
        }),
        ..SimConfig::default()
    });
    let bin = assert_cmd::cargo::cargo_bin("xnatctl");
    let script = format!(
        "set -o pipefail; '{}' api get /data/projects -o json | head -1",
        bin.display()
    );
    let result = std::process::Command::new("bash")
        .args(["-c", &script])
        .env("HOME", env.home.path())
        .env("XDG_CONFIG_HOME", env.home.path().join(".config"))
        .env("XNAT_URL", env.url())
        .env("XNAT_USER", "admin")
        .env("XNAT_PASS", "admin")
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(0), "{}", stderr_of(&result));
    assert_eq!(stdout_of(&result), "{\n");
    assert_eq!(stderr_of(&result), "");
}

#[test]
fn completion_and_man_pages_come_from_the_command_tree() {
    let env = TestEnv::empty();
    let out = env
        .bare_cmd()
        .args(["completion", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let script = stdout_of(&out);
    assert!(script.contains("xnatctl"));
    assert!(script.contains("whoami"));

    let dir = env.home.path().join("man");
    let out = env
        .bare_cmd()
        .args(["man", "--out-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(dir.join("xnatctl.1").is_file());
    assert!(dir.join("xnatctl-auth-login.1").is_file());
}

#[test]
fn health_ping_reports_version_without_credentials() {
    let env = TestEnv::empty();
    let out = env
        .bare_cmd()
        .env("XNAT_URL", env.url())
        .args(["health", "ping", "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["status"], "ok");
    assert_eq!(doc["authenticated"], false);
    assert!(doc["version"].as_str().is_some_and(|v| !v.is_empty()));
    let quiet = env
        .bare_cmd()
        .env("XNAT_URL", env.url())
        .args(["health", "ping", "-q"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&quiet), format!("{}\n", env.url()));
}

#[test]
fn auth_test_and_status_quiet_print_the_login_and_the_profile() {
    let env = TestEnv::demo();
    let test = env.cmd().args(["auth", "test", "-q"]).output().unwrap();
    assert!(test.status.success(), "{}", stderr_of(&test));
    assert_eq!(stdout_of(&test), "admin\n");
    let status = env.cmd().args(["auth", "status", "-q"]).output().unwrap();
    assert!(status.status.success(), "{}", stderr_of(&status));
    assert_eq!(stdout_of(&status), "default\n");
}

#[test]
fn an_html_error_page_is_reported_by_its_message() {
    let env = TestEnv::demo();
    let out = env
        .cmd()
        .args([
            "api",
            "post",
            "/data/projects/DEMO_MR",
            "--data",
            "{\"a\":1}",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.starts_with("error: HTTP 400 on POST /data/projects/DEMO_MR: Unable to parse XML"),
        "{err}"
    );
    assert!(!err.contains("<html>"), "{err}");
}

/// Start `cmd` with `input` on its stdin.
fn spawn_with_stdin(cmd: &assert_cmd::Command, input: &str) -> std::process::Child {
    use std::io::Write;
    let mut c = std::process::Command::new(cmd.get_program());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        c.current_dir(dir);
    }
    let mut child = c
        .args(cmd.get_args())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child
}

#[test]
fn two_commands_starting_without_a_session_make_one_login_and_share_it() {
    let env = TestEnv::demo();
    // Slow logins, so both commands look for a cached session before either has stored one.
    env.sim
        .add_fault(FaultRule::latency("POST", "/data/JSESSION", 400));
    env.clear_requests();
    let outs: Vec<_> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..2)
            .map(|_| s.spawn(|| env.cmd().args(["project", "list", "-q"]).output().unwrap()))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for out in &outs {
        assert!(out.status.success(), "{}", stderr_of(out));
        assert!(stdout_of(out).contains("DEMO_MR"), "{}", stdout_of(out));
    }
    assert_eq!(
        support::count_requests(&env, "POST /data/JSESSION"),
        1,
        "{:?}",
        env.request_lines()
    );
    let cache = std::fs::read_to_string(env.config_dir().join(".session")).unwrap();
    assert_eq!(cache.matches("\"token\"").count(), 1, "{cache}");
    let mode = std::fs::metadata(env.config_dir().join(".session"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn concurrent_logins_and_profile_changes_all_keep_their_entries() {
    let env = TestEnv::demo();
    let users: Vec<String> = (0..6).map(|i| format!("user{i}")).collect();
    env.sim.with_state_mut(|st| {
        for u in &users {
            st.add_user(u, u, false);
        }
    });
    let logins: Vec<_> = users
        .iter()
        .map(|u| {
            let mut cmd = env.bare_cmd();
            cmd.env("XNAT_URL", env.url())
                .args(["auth", "login", "-u", u, "--password-stdin"]);
            spawn_with_stdin(&cmd, &format!("{u}\n"))
        })
        .collect();
    for child in logins {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
    let text = std::fs::read_to_string(env.config_dir().join(".session")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut cached: Vec<String> = doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["username"].as_str().unwrap().to_string())
        .collect();
    cached.sort();
    assert_eq!(cached, users, "one entry per user, none lost");

    let adds: Vec<_> = (0..8)
        .map(|i| {
            let mut cmd = env.bare_cmd();
            cmd.args(["config", "add-profile", &format!("p{i}"), "--url"])
                .arg(format!("http://host{i}.example.org"));
            spawn_with_stdin(&cmd, "")
        })
        .collect();
    for child in adds {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
    let cfg = std::fs::read_to_string(env.config_file()).unwrap();
    for i in 0..8 {
        assert!(cfg.contains(&format!("p{i}:")), "p{i} lost:\n{cfg}");
    }
}

#[test]
fn the_config_log_file_key_is_honoured() {
    let env = TestEnv::demo();
    let log = env.home.path().join("logs").join("xnatctl.log");
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        env.config_file(),
        format!("version: 1\nlog_file: {}\nprofiles: {{}}\n", log.display()),
    )
    .unwrap();
    let out = env.cmd().args(["project", "list", "-q"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = std::fs::read_to_string(&log).expect("the log file was written");
    assert!(text.contains("http_request"), "{text}");
}

#[test]
fn config_show_and_current_context_work_from_the_environment_alone() {
    let env = TestEnv::empty();
    let out = env
        .cmd()
        .args(["config", "current-context"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "default\n");
    let out = env
        .cmd()
        .args(["config", "show", "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["default_profile"], "default");
    assert_eq!(v["profile_details"]["default"]["url"], env.url());
    assert_eq!(v["profile_details"]["default"]["username"], "admin");
    assert!(!stdout_of(&out).contains("\"admin\",\n    \"password\": \"admin"));
    assert!(
        support::files_under(env.home.path()).is_empty(),
        "nothing written"
    );
    // Without XNAT_URL it is still the documented error.
    let out = env.bare_cmd().args(["config", "show"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
}
