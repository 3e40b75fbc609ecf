//! `auth token issue|list|show|revoke|set`, alias tokens as a profile's or CI's credential,
//! renewal before expiry, expiry, and long jobs outliving the server's session timeout.

use std::time::Duration;

use serde_json::Value;
use xnat_sim::{FaultRule, SimConfig};

use crate::support::{self, stderr_of, stdout_of, TestEnv};

/// A profile `default` on the simulator with admin's user name and password inline.
fn with_profile(env: &TestEnv) {
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        env.config_file(),
        format!(
            "version: 1\ndefault_profile: default\nprofiles:\n  default:\n    url: {}\n    username: admin\n    password: admin\n",
            env.url()
        ),
    )
    .unwrap();
}

/// xnatctl with the profile file and no XNAT_* credentials; token secrets go to the 0600 file
/// (the test machine's keyring is nobody's business).
fn cmd(env: &TestEnv) -> assert_cmd::Command {
    let mut c = env.bare_cmd();
    c.env("XNATCTL_TOKEN_STORE", "file")
        .env_remove("XNAT_ALIAS")
        .env_remove("XNAT_SECRET")
        .env_remove("XNATCTL_TOKEN_RENEW_BEFORE");
    c
}

fn issue(env: &TestEnv) -> std::process::Output {
    cmd(env)
        .args(["auth", "token", "issue", "--yes", "-o", "json"])
        .output()
        .unwrap()
}

/// The secrets of every token the simulator has issued.
fn secrets(env: &TestEnv) -> Vec<String> {
    env.sim
        .with_state(|st| st.alias_tokens.iter().map(|t| t.secret.clone()).collect())
}

fn enabled_aliases(env: &TestEnv) -> Vec<String> {
    env.sim.with_state(|st| {
        st.alias_tokens
            .iter()
            .filter(|t| t.enabled)
            .map(|t| t.alias.clone())
            .collect()
    })
}

/// No secret the simulator issued appears in `text`.
fn assert_no_secret(env: &TestEnv, text: &str) {
    for s in secrets(env) {
        assert!(!text.contains(&s), "a token secret leaked: {text}");
    }
}

/// Every file under HOME except the token file itself, concatenated.
fn everything_but_the_token_file(env: &TestEnv) -> String {
    support::files_under(env.home.path())
        .into_iter()
        .filter(|rel| !rel.ends_with("tokens.json"))
        .map(|rel| {
            String::from_utf8_lossy(&std::fs::read(env.home.path().join(rel)).unwrap()).into_owned()
        })
        .collect()
}

#[test]
fn issue_stores_a_token_that_later_commands_log_in_with_instead_of_the_password() {
    let env = TestEnv::demo();
    with_profile(&env);
    let out = issue(&env);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let doc: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    let alias = env.sim.with_state(|st| st.alias_tokens[0].alias.clone());
    assert_eq!(doc["alias"], alias.as_str());
    assert_eq!(doc["username"], "admin");
    assert_eq!(doc["state"], "fresh");
    assert_eq!(doc["secret_stored_in"], "file");
    assert_no_secret(&env, &stdout_of(&out));
    assert_no_secret(&env, &stderr_of(&out));
    // The password login that asked for the token is not left behind as a session.
    assert!(env.sim.with_state(|st| st.sessions.is_empty()));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(env.config_dir().join("tokens.json")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    // The password no longer works on the server; the token does.
    env.sim
        .with_state_mut(|st| st.users.get_mut("admin").unwrap().password = "changed".into());
    let out = cmd(&env).args(["project", "list", "-q"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains("DEMO_MR"));
    assert_no_secret(&env, &everything_but_the_token_file(&env));

    let show = cmd(&env)
        .args(["auth", "token", "show", "-q"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&show), format!("{alias}\n"));

    // The session it made is cached under the alias, and status finds it.
    let status = cmd(&env)
        .args(["auth", "status", "-o", "json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_str(&stdout_of(&status)).unwrap();
    assert_eq!(doc["alias_token"], "stored");
    assert_eq!(doc["session_cached"], true, "{doc}");
    assert_eq!(doc["session_username"], alias.as_str());
}

#[test]
fn ci_with_only_url_alias_and_secret_lists_projects_and_downloads_without_leaking() {
    let env = TestEnv::demo();
    let (alias, secret) = env.sim.with_state_mut(|st| {
        let t = st.issue_alias_token("admin");
        (t.alias, t.secret)
    });
    let ci = || {
        let mut c = cmd(&env);
        c.env("XNAT_URL", env.url())
            .env("XNAT_ALIAS", &alias)
            .env("XNAT_SECRET", &secret)
            .env("XNATCTL_LOG_FILE", env.home.path().join("xnatctl.log"))
            .env("XNATCTL_DEBUG", "1");
        c
    };
    let out = ci().args(["project", "list", "-q"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains("DEMO_MR"));
    let dest = env.home.path().join("dl");
    let dl = ci()
        .args([
            "session",
            "download",
            "-P",
            "DEMO_MR",
            "-E",
            "SUBJ001_MR1",
            "--out",
        ])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(dl.status.success(), "{}", stderr_of(&dl));
    assert!(!support::files_under(&dest).is_empty());
    for text in [
        stdout_of(&out),
        stderr_of(&out),
        stdout_of(&dl),
        stderr_of(&dl),
        everything_but_the_token_file(&env),
    ] {
        assert!(!text.contains(&secret), "the secret leaked: {text}");
    }
    assert!(
        std::fs::read_to_string(env.home.path().join("xnatctl.log"))
            .unwrap()
            .contains("http_request"),
        "the debug log was written (and checked above)"
    );

    // One of the pair alone is a configuration error, not a silent anonymous run.
    let half = cmd(&env)
        .env("XNAT_URL", env.url())
        .env("XNAT_ALIAS", &alias)
        .args(["project", "list"])
        .output()
        .unwrap();
    assert_eq!(half.status.code(), Some(1), "{}", stderr_of(&half));
    assert!(stderr_of(&half).contains("XNAT_ALIAS and XNAT_SECRET go together"));
}

#[test]
fn a_token_due_for_renewal_is_replaced_once_and_the_old_one_revoked() {
    let env = TestEnv::demo();
    with_profile(&env);
    assert!(issue(&env).status.success());
    let old = enabled_aliases(&env);
    // XNAT's default lifetime is 2 days: with a 3-day margin it is due at once.
    let renew = |args: &[&str]| {
        cmd(&env)
            .env("XNATCTL_TOKEN_RENEW_BEFORE", "3d")
            .args(args)
            .output()
            .unwrap()
    };
    let out = renew(&["project", "list", "-q"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        stderr_of(&out)
            .matches("renewed the alias token of profile 'default'")
            .count(),
        1,
        "{}",
        stderr_of(&out)
    );
    assert_no_secret(&env, &stderr_of(&out));
    let now = enabled_aliases(&env);
    assert_eq!(now.len(), 1, "the old token is revoked: {now:?}");
    assert_ne!(now, old);
    let show = cmd(&env)
        .args(["auth", "token", "show", "-q"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&show), format!("{}\n", now[0]));

    // With the default margin (a quarter of its life) the new one is fresh: no second notice.
    let again = cmd(&env).args(["project", "list", "-q"]).output().unwrap();
    assert!(again.status.success(), "{}", stderr_of(&again));
    assert!(
        !stderr_of(&again).contains("renewed"),
        "{}",
        stderr_of(&again)
    );
}

#[test]
fn two_commands_renewing_the_same_token_at_once_issue_one_successor() {
    let env = TestEnv::demo();
    with_profile(&env);
    assert!(issue(&env).status.success());
    // A slow issue keeps the first renewal going while the second command starts its own.
    env.sim.add_fault(FaultRule::latency(
        "GET",
        "/data/services/tokens/issue",
        400,
    ));
    env.clear_requests();
    let outs: Vec<_> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    cmd(&env)
                        .env("XNATCTL_TOKEN_RENEW_BEFORE", "3d")
                        .args(["project", "list", "-q"])
                        .output()
                        .unwrap()
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for out in &outs {
        assert!(out.status.success(), "{}", stderr_of(out));
        assert!(stdout_of(out).contains("DEMO_MR"), "{}", stdout_of(out));
    }
    let renewed = outs
        .iter()
        .filter(|o| stderr_of(o).contains("renewed the alias token"))
        .count();
    assert_eq!(renewed, 1);
    assert_eq!(
        support::count_requests(&env, "GET /data/services/tokens/issue"),
        1,
        "{:?}",
        env.request_lines()
    );
    // One login to renew with the old token, one with its successor, shared through the cache.
    assert_eq!(
        support::count_requests(&env, "POST /data/JSESSION"),
        2,
        "{:?}",
        env.request_lines()
    );
    let live = enabled_aliases(&env);
    assert_eq!(live.len(), 1, "no orphaned token: {live:?}");
    let show = cmd(&env)
        .args(["auth", "token", "show", "-q"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&show), format!("{}\n", live[0]));
}

#[test]
fn an_expired_token_exits_3_with_the_command_to_run_and_sends_nothing() {
    let env = TestEnv::demo();
    with_profile(&env);
    env.sim
        .with_state_mut(|st| st.alias_token_timeout = Duration::from_secs(0));
    assert!(issue(&env).status.success());
    env.clear_requests();
    let out = cmd(&env).args(["project", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("the alias token of profile 'default'"),
        "{err}"
    );
    assert!(err.contains("expired on"), "{err}");
    assert!(
        err.contains("hint: run 'xnatctl auth token issue -p default'"),
        "{err}"
    );
    assert!(env.request_lines().is_empty(), "{:?}", env.request_lines());

    // doctor names it, with the same fix.
    let out = cmd(&env).args(["doctor", "-o", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let rows: Vec<Value> = serde_json::from_str(&stdout_of(&out)).unwrap();
    let c = rows.iter().find(|r| r["check"] == "credentials").unwrap();
    assert_eq!(c["status"], "fail");
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains("stored alias token (expired"),
        "{c}"
    );
    assert!(
        c["fix"]
            .as_str()
            .unwrap()
            .contains("auth token issue -p default"),
        "{c}"
    );
}

#[test]
fn a_token_the_server_no_longer_accepts_exits_3_naming_it() {
    let env = TestEnv::demo();
    with_profile(&env);
    assert!(issue(&env).status.success());
    // Three days later on the server's clock the 2-day token is dead; ours still looks fresh.
    env.sim
        .with_state_mut(|st| st.clock_offset_ms += 3 * 86_400_000);
    let out = cmd(&env).args(["project", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("rejected the alias token of profile 'default'"),
        "{err}"
    );
    assert!(err.contains("auth token issue -p default"), "{err}");

    // Issuing again logs in with the password and replaces it.
    let out = issue(&env);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let ok = cmd(&env).args(["project", "list", "-q"]).output().unwrap();
    assert!(ok.status.success(), "{}", stderr_of(&ok));
}

#[test]
fn list_marks_the_stored_token_and_revoke_ends_it_everywhere() {
    let env = TestEnv::demo();
    with_profile(&env);
    assert!(issue(&env).status.success());
    let other = env
        .sim
        .with_state_mut(|st| st.issue_alias_token("admin").alias);
    let out = cmd(&env)
        .args(["auth", "token", "list", "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let rows: Vec<Value> = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(rows.len(), 2);
    let stored: Vec<bool> = rows
        .iter()
        .map(|r| r["stored"].as_bool().unwrap())
        .collect();
    assert_eq!(stored.iter().filter(|s| **s).count(), 1);
    assert_no_secret(&env, &stdout_of(&out));

    let out = cmd(&env)
        .args(["auth", "token", "revoke", &other, "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(enabled_aliases(&env).len(), 1);

    let out = cmd(&env)
        .args(["auth", "token", "revoke", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(enabled_aliases(&env).is_empty());
    let show = cmd(&env).args(["auth", "token", "show"]).output().unwrap();
    assert_eq!(show.status.code(), Some(5), "{}", stderr_of(&show));
}

#[test]
fn set_stores_a_token_made_on_the_web_page_after_proving_it() {
    let env = TestEnv::demo();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        env.config_file(),
        format!(
            "version: 1\nprofiles:\n  default:\n    url: {}\n",
            env.url()
        ),
    )
    .unwrap();
    let (alias, secret) = env.sim.with_state_mut(|st| {
        let t = st.issue_alias_token("admin");
        (t.alias, t.secret)
    });
    let bad = cmd(&env)
        .args(["auth", "token", "set", "--alias", &alias, "--secret-stdin"])
        .write_stdin("wrong\n")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(3), "{}", stderr_of(&bad));
    let out = cmd(&env)
        .args([
            "auth",
            "token",
            "set",
            "--alias",
            &alias,
            "--secret-stdin",
            "-o",
            "json",
        ])
        .write_stdin(format!("{secret}\n"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let doc: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(doc["username"], "admin");
    assert!(doc["expires_at"].is_string(), "{doc}");
    assert_no_secret(&env, &stdout_of(&out));
    let ok = cmd(&env).args(["project", "list", "-q"]).output().unwrap();
    assert!(ok.status.success(), "{}", stderr_of(&ok));
}

/// A simulator whose sessions end after one idle second, and a CI token for admin.
fn short_sessions() -> (TestEnv, String, String) {
    let env = TestEnv::with(SimConfig {
        session_timeout: Duration::from_secs(1),
        ..SimConfig::demo()
    });
    let (alias, secret) = env.sim.with_state_mut(|st| {
        let t = st.issue_alias_token("admin");
        (t.alias, t.secret)
    });
    (env, alias, secret)
}

#[test]
fn a_download_outlives_the_session_timeout_on_a_token() {
    let (env, alias, secret) = short_sessions();
    // One file request arrives after the session has been idle past the timeout.
    let mut slow = FaultRule::latency("GET", "/data/experiments/*/files/*", 1_200);
    slow.remaining = Some(1);
    env.sim.add_fault(slow);
    let dest = env.home.path().join("dl");
    let out = cmd(&env)
        .env("XNAT_URL", env.url())
        .env("XNAT_ALIAS", &alias)
        .env("XNAT_SECRET", &secret)
        .args([
            "session",
            "download",
            "-P",
            "DEMO_MR",
            "-E",
            "SUBJ001_MR1",
            "--per-file",
            "-w",
            "1",
            "--out",
        ])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = env.request_lines();
    assert!(lines.iter().any(|l| l.contains("/files/")));
    assert!(
        env.sim.requests().iter().any(|r| r.status == 401),
        "the session did expire mid-job: {lines:?}"
    );
    assert_eq!(
        support::count_requests(&env, "POST /data/JSESSION"),
        2,
        "{lines:?}"
    );
}

#[test]
fn an_upload_outlives_the_session_timeout_on_a_token() {
    let (env, alias, secret) = short_sessions();
    let src = env.home.path().join("dicom");
    crate::support::dicom::write_study(&src, "LONGJOB", 1, 4);
    // The upload's request arrives after the session has been idle past the timeout.
    let mut slow = FaultRule::latency("POST", "/data/services/import", 1_200);
    slow.remaining = Some(1);
    env.sim.add_fault(slow);
    let out = cmd(&env)
        .env("XNAT_URL", env.url())
        .env("XNAT_ALIAS", &alias)
        .env("XNAT_SECRET", &secret)
        .args(["session", "upload"])
        .arg(&src)
        .args([
            "-P", "DEMO_MR", "-S", "LONGSUBJ", "-E", "LONG_MR1", "-w", "1", "--yes",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = env.request_lines();
    assert!(
        env.sim.requests().iter().any(|r| r.status == 401),
        "the session did expire mid-job: {lines:?}"
    );
    assert_eq!(
        support::count_requests(&env, "POST /data/JSESSION"),
        2,
        "{lines:?}"
    );
    let files = env.sim.with_state(|st| {
        st.experiment_by_label("DEMO_MR", "LONG_MR1").map(|e| {
            e.scans
                .iter()
                .map(|s| s.resources.iter().map(|r| r.files.len()).sum::<usize>())
                .sum::<usize>()
        })
    });
    assert_eq!(files, Some(4));
}

#[test]
fn passwords_with_any_characters_work_from_stdin_and_the_environment() {
    const PW: &str = "~!@#$%^&*()\"' \\ é漢:x";
    let mut cfg = SimConfig::demo();
    cfg.users.push(xnat_sim::UserSpec::new("pat", PW, false));
    let env = TestEnv::with(cfg);
    let login = env
        .bare_cmd()
        .env("XNAT_URL", env.url())
        .args(["auth", "login", "-u", "pat", "--password-stdin"])
        .write_stdin(format!("{PW}\n"))
        .output()
        .unwrap();
    assert!(login.status.success(), "{}", stderr_of(&login));
    env.sim.expire_sessions();
    let out = env
        .bare_cmd()
        .env("XNAT_URL", env.url())
        .env("XNAT_USER", "pat")
        .env("XNAT_PASS", PW)
        .args(["auth", "test", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "pat\n");
    // And the token issued with it.
    let out = cmd(&env)
        .env("XNAT_URL", env.url())
        .args([
            "auth",
            "token",
            "issue",
            "-u",
            "pat",
            "--password-stdin",
            "--yes",
            "-q",
        ])
        .write_stdin(format!("{PW}\n"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
}

#[test]
fn revoking_a_stored_token_due_for_renewal_revokes_the_renewed_one() {
    let env = TestEnv::demo();
    with_profile(&env);
    assert!(issue(&env).status.success());
    let out = cmd(&env)
        .env("XNATCTL_TOKEN_RENEW_BEFORE", "3d")
        .args(["auth", "token", "revoke", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("renewed"), "{}", stderr_of(&out));
    assert!(
        enabled_aliases(&env).is_empty(),
        "no live token is left behind"
    );
    assert!(
        cmd(&env)
            .args(["auth", "token", "show"])
            .output()
            .unwrap()
            .status
            .code()
            == Some(5)
    );
}

#[test]
fn a_project_pull_outlives_the_session_timeout_on_a_token() {
    let (env, alias, secret) = short_sessions();
    // A request for a session's scan files arrives after the session has been idle too long.
    let mut slow = FaultRule::latency("GET", "/data/experiments/*/scans/*", 1_200);
    slow.remaining = Some(1);
    env.sim.add_fault(slow);
    let dest = env.home.path().join("mirror");
    let out = cmd(&env)
        .env("XNAT_URL", env.url())
        .env("XNAT_ALIAS", &alias)
        .env("XNAT_SECRET", &secret)
        .args(["project", "pull", "-P", "DEMO_MR", "-w", "1", "--out"])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = env.request_lines();
    assert!(
        env.sim.requests().iter().any(|r| r.status == 401),
        "the session did expire mid-job: {lines:?}"
    );
    assert_eq!(
        support::count_requests(&env, "POST /data/JSESSION"),
        2,
        "{lines:?}"
    );
    assert!(
        support::files_under(&dest)
            .iter()
            .any(|f| f.ends_with(".dcm")),
        "{:?}",
        support::files_under(&dest)
    );
}
