//! Second QA pass: what non-admin users and broken setups run into. Stale sessions, permission
//! errors, servers that go away and downloads that cannot be written.

use crate::support::{stderr_of, stdout_of, TestEnv};

/// The one request `project list` sends.
const PROJECT_LIST: &str =
    "GET /data/projects?columns=ID%2Cname%2Cpi_lastname%2Cdescription&offset=0&limit=5000&format=json";

/// `auth login` as the demo fixture's normal user, with XNAT_URL but no credentials afterwards.
fn login_user(env: &TestEnv) {
    let out = env
        .bare_cmd()
        .env("XNAT_URL", env.url())
        .args(["auth", "login", "-u", "user", "--password-stdin"])
        .write_stdin("user\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
}

#[test]
fn an_expired_cached_session_without_credentials_is_dropped_after_the_first_401() {
    let env = TestEnv::demo();
    login_user(&env);
    env.sim.expire_sessions();
    env.clear_requests();

    let first = env
        .bare_cmd()
        .env("XNAT_URL", env.url())
        .args(["project", "list", "-q"])
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(3));
    assert_eq!(stdout_of(&first), "");
    let err = stderr_of(&first);
    assert!(err.contains("session expired"), "{err}");
    assert!(err.contains("hint: run 'xnatctl auth login'"), "{err}");
    assert_eq!(env.request_lines(), vec![PROJECT_LIST]);

    env.clear_requests();
    let second = env
        .bare_cmd()
        .env("XNAT_URL", env.url())
        .args(["project", "list", "-q"])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(3));
    let err = stderr_of(&second);
    assert!(err.contains("not logged in"), "{err}");
    assert!(err.contains("hint: run 'xnatctl auth login'"), "{err}");
    assert!(
        env.request_lines().is_empty(),
        "the stale session was sent again: {:?}",
        env.request_lines()
    );
}

#[test]
fn an_expired_cached_session_with_credentials_logs_in_again_and_replaces_the_cache() {
    let env = TestEnv::demo();
    login_user(&env);
    env.sim.expire_sessions();
    let run = || {
        env.bare_cmd()
            .env("XNAT_URL", env.url())
            .env("XNAT_USER", "user")
            .env("XNAT_PASS", "user")
            .args(["project", "list", "-q"])
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "DEMO_CT\nDEMO_MR\nDEMO_PUBLIC\n");
    env.clear_requests();
    let again = run();
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(env.request_lines(), vec![PROJECT_LIST]);
}

#[test]
fn a_url_without_xnat_behind_it_says_so_instead_of_blaming_the_password() {
    let env = TestEnv::demo();
    let out = env
        .bare_cmd()
        .env("XNAT_URL", format!("{}/xnat", env.url()))
        .env("XNAT_USER", "user")
        .env("XNAT_PASS", "user")
        .args(["project", "list", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(
        err,
        format!(
            "error: invalid URL: {}/xnat - no XNAT login service there (POST /data/JSESSION \
             answered HTTP 404); check the address and its context path (e.g. https://host/xnat)\n",
            env.url()
        )
    );
    assert_eq!(env.request_lines(), vec!["POST /xnat/data/JSESSION"]);
}

#[test]
fn a_rejected_xnat_token_is_named_in_the_error() {
    let env = TestEnv::demo();
    let out = env
        .bare_cmd()
        .env("XNAT_URL", env.url())
        .env("XNAT_TOKEN", "DEADBEEF00000000000000000000DEAD")
        .args(["project", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let first = stderr_of(&out)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        first,
        format!(
            "error: authentication failed: {} rejected the session in XNAT_TOKEN: set a fresh one, or XNAT_USER and XNAT_PASS",
            env.url()
        )
    );
    assert!(stdout_of(&out).is_empty());
}

#[test]
fn a_missing_config_file_is_an_error_and_nothing_is_written() {
    let env = TestEnv::demo();
    let dir = env.home.path().join("nope");
    let cfg = dir.join("config.yaml");
    for args in [
        vec!["auth", "login"],
        vec!["project", "list"],
        vec!["config", "show"],
        vec!["config", "add-profile", "x", "--url", "http://localhost:1"],
    ] {
        let out = env
            .cmd()
            .arg("--config")
            .arg(&cfg)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr_of(&out));
        assert!(
            stderr_of(&out).contains("does not exist"),
            "{args:?}: {}",
            stderr_of(&out)
        );
        assert!(!dir.exists(), "{args:?} created {}", dir.display());
    }
    // `config init` is how such a file is made.
    let out = env
        .bare_cmd()
        .arg("--config")
        .arg(&cfg)
        .args([
            "config",
            "init",
            "--url",
            "http://localhost:1",
            "--username",
            "u",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(cfg.is_file());
}
