//! `anon show|set|enable|disable` against the simulator: site scope and a project's override.

use crate::support::{command, report, with_format, TestEnv};

fn write(env: &TestEnv, name: &str, bytes: &[u8]) -> String {
    let p = env.home.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

fn stored(env: &TestEnv, key: &str) -> Option<(String, bool)> {
    env.sim
        .with_state(|st| st.configs.get(key).map(|e| (e.contents.clone(), e.enabled)))
}

#[test]
fn site_script_set_show_disable_enable() {
    let env = TestEnv::demo();
    let file = write(
        &env,
        "site.das",
        b"version \"6.1\"\n(0010,0010) := \"ANON\"\n",
    );
    let r = report(&env, command(&env, &["anon", "set", &file, "--yes"]));
    insta::assert_snapshot!(r.replace(&file, "FILE"), @r"
        exit 0
        --- stdout
        --- stderr
        ✓ Replaced the site-wide anonymization script from FILE
        --- writes
        PUT /xapi/anonymize/site
        ");
    assert_eq!(
        stored(&env, "site/anon/script"),
        Some(("version \"6.1\"\n(0010,0010) := \"ANON\"\n".into(), true))
    );
    let json = report(&env, command(&env, &with_format(&["anon", "show"], "json")));
    insta::assert_snapshot!(json, @r#"
        exit 0
        --- stdout
        {
          "id": "site",
          "scope": "site",
          "project": null,
          "enabled": true,
          "script": "version \"6.1\"\n(0010,0010) := \"ANON\"\n"
        }
        --- stderr
        --- writes
        "#);
    let r = report(&env, command(&env, &["anon", "disable", "-y"]));
    insta::assert_snapshot!(r, @r"
        exit 0
        --- stdout
        --- stderr
        ✓ Disabled the site-wide anonymization script
        --- writes
        PUT /xapi/anonymize/site/enabled?enable=false
        ");
    assert!(!stored(&env, "site/anon/script").unwrap().1);
    let table = report(&env, command(&env, &["anon", "show"]));
    insta::assert_snapshot!(table, @r"
        exit 0
        --- stdout
        ID       site
        Scope    site
        Project  -
        Enabled  No
        Script   
        --- stderr
        --- writes
        ");
    let r = report(&env, command(&env, &["anon", "enable", "-y"]));
    insta::assert_snapshot!(r, @r"
        exit 0
        --- stdout
        --- stderr
        ✓ Enabled the site-wide anonymization script
        --- writes
        PUT /xapi/anonymize/site/enabled?enable=true
        ");
    let q = report(
        &env,
        command(&env, &with_format(&["anon", "show"], "quiet")),
    );
    insta::assert_snapshot!(q, @r"
        exit 0
        --- stdout
        site
        --- stderr
        --- writes
        ");
}

#[test]
fn project_script_never_set_then_set_then_disabled() {
    let env = TestEnv::demo();
    let never = report(
        &env,
        command(&env, &["anon", "show", "-P", "DEMO_MR", "-o", "json"]),
    );
    insta::assert_snapshot!(never, @r#"
        exit 0
        --- stdout
        {
          "id": "DEMO_MR",
          "scope": "project",
          "project": "DEMO_MR",
          "enabled": false,
          "script": ""
        }
        --- stderr
        warning: Project DEMO_MR has no override script; it inherits the site-wide script.
        --- writes
        "#);
    let refused = report(
        &env,
        command(&env, &["anon", "enable", "-P", "DEMO_MR", "-y"]),
    );
    insta::assert_snapshot!(refused, @r"
        exit 1
        --- stdout
        --- stderr
        error: Project 'DEMO_MR' has no anonymization script set. Run `anon set -P DEMO_MR FILE` first, then enable it.
        --- writes
        ");
    let file = write(&env, "p.das", b"(0008,0050) := \"A\"\n");
    let r = report(
        &env,
        command(&env, &["anon", "set", &file, "-P", "DEMO_MR", "-y"]),
    );
    insta::assert_snapshot!(r.replace(&file, "FILE"), @r"
        exit 0
        --- stdout
        --- stderr
        ✓ Replaced the project DEMO_MR's override anonymization script from FILE
        --- writes
        PUT /xapi/anonymize/projects/DEMO_MR
        ");
    assert_eq!(
        stored(&env, "projects/DEMO_MR/anon/projects/DEMO_MR"),
        Some(("(0008,0050) := \"A\"\n".into(), true))
    );
    let tsv = report(
        &env,
        command(&env, &["anon", "show", "-P", "DEMO_MR", "-o", "tsv"]),
    );
    insta::assert_snapshot!(tsv, @r#"
        exit 0
        --- stdout
        id	scope	project	enabled	script
        DEMO_MR	project	DEMO_MR	true	(0008,0050) := "A" 
        --- stderr
        --- writes
        "#);
    let r = report(
        &env,
        command(&env, &["anon", "disable", "-P", "DEMO_MR", "-y"]),
    );
    insta::assert_snapshot!(r, @r"
        exit 0
        --- stdout
        --- stderr
        ✓ Disabled the project DEMO_MR's override anonymization script
        --- writes
        PUT /xapi/anonymize/projects/DEMO_MR/enabled?enable=false
        ");
    let disabled = report(
        &env,
        command(&env, &["anon", "show", "-P", "DEMO_MR", "-o", "json"]),
    );
    insta::assert_snapshot!(disabled, @r#"
        exit 0
        --- stdout
        {
          "id": "DEMO_MR",
          "scope": "project",
          "project": "DEMO_MR",
          "enabled": false,
          "script": ""
        }
        --- stderr
        warning: Project DEMO_MR has a script set but it is disabled; it currently inherits the site-wide script. Run `anon enable -P DEMO_MR` to activate it.
        --- writes
        "#);
    assert!(
        !stored(&env, "projects/DEMO_MR/anon/projects/DEMO_MR")
            .unwrap()
            .1
    );
}

#[test]
fn dry_run_shows_the_diff_and_changes_nothing() {
    let env = TestEnv::demo();
    let old = write(&env, "old.das", b"a\nb\n");
    let new = write(&env, "new.das", b"a\nc\n");
    report(
        &env,
        command(&env, &["anon", "set", &old, "-P", "DEMO_MR", "-y"]),
    );
    let r = report(
        &env,
        command(&env, &["anon", "set", &new, "-P", "DEMO_MR", "--dry-run"]),
    );
    insta::assert_snapshot!(r.replace(&new, "FILE"), @r"
        exit 0
        --- stdout
        --- project DEMO_MR's override anonymization script (current)
        +++ project DEMO_MR's override anonymization script (new)
        @@ -1,2 +1,2 @@
         a
        -b
        +c
        --- stderr
        [dry-run] preview mode: no changes will be made
        [dry-run] Would replace the project DEMO_MR's override anonymization script from FILE:
        --- writes
        ");
    assert_eq!(
        stored(&env, "projects/DEMO_MR/anon/projects/DEMO_MR")
            .unwrap()
            .0,
        "a\nb\n"
    );
}

#[test]
fn bad_input_fails_before_any_request() {
    let env = TestEnv::demo();
    let empty = write(&env, "empty.das", b" \n");
    let binary = write(&env, "bin.das", &[0xff, 0xfe, 0x00]);
    for (file, code) in [(&empty, 1), (&binary, 1), (&"missing.das".to_string(), 1)] {
        env.clear_requests();
        let out = command(&env, &["anon", "set", file, "-y"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{file}");
        assert!(env.request_lines().is_empty(), "{:?}", env.request_lines());
    }
    let r = report(&env, command(&env, &["anon", "show", "-P", "bad/id"]));
    insta::assert_snapshot!(r, @r"
        exit 1
        --- stdout
        --- stderr
        error: invalid project: bad/id - must contain only alphanumeric characters, underscores, and hyphens
        --- writes
        ");
    let r = report(&env, command(&env, &["anon", "show", "-P", "NOPE"]));
    insta::assert_snapshot!(r, @r"
        exit 5
        --- stdout
        --- stderr
        error: project not found: NOPE
        --- writes
        ");
    // No terminal and no --yes: a usage error, nothing written.
    let r = report(&env, command(&env, &["anon", "disable"]));
    insta::assert_snapshot!(r, @r"
        exit 2
        --- stdout
        --- stderr
        error: Disable this anonymization script? needs confirmation: pass --yes (or --dry-run to preview) when stdin is not a terminal
        --- writes
        ");
    // stdin script needs --yes or --dry-run.
    let mut cmd = command(&env, &["anon", "set", "-"]);
    cmd.write_stdin("x\n");
    let r = report(&env, cmd);
    insta::assert_snapshot!(r, @r"
        exit 2
        --- stdout
        --- stderr
        error: FILE - requires --yes or --dry-run (stdin is consumed by the script)
        --- writes
        ");
}

#[test]
fn a_project_member_is_refused_with_exit_6() {
    let env = TestEnv::demo();
    let file = write(&env, "p.das", b"x\n");
    let out = env
        .bare_cmd()
        .args(["anon", "set", &file, "-P", "DEMO_MR", "-y"])
        .env("XNAT_URL", env.url())
        .env("XNAT_USER", "user")
        .env("XNAT_PASS", "user")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        crate::support::stderr_of(&out)
    );
    assert_eq!(stored(&env, "projects/DEMO_MR/anon/projects/DEMO_MR"), None);
}
