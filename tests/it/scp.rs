//! `scp list|show|create|enable|disable|delete` against the simulator's `/xapi/dicomscp`.

use crate::support::{command, report, with_format, TestEnv, FORMATS};

fn receivers(env: &TestEnv) -> Vec<(u64, String, u32, bool)> {
    env.sim.with_state(|st| {
        st.scp_receivers
            .values()
            .map(|r| (r.id, r.ae_title.clone(), r.port, r.enabled))
            .collect()
    })
}

#[test]
fn list_and_show_in_each_format() {
    let env = TestEnv::empty();
    let out = |args: &[&str], fmt| report(&env, command(&env, &with_format(args, fmt)));
    insta::assert_snapshot!(out(&["scp", "list"], FORMATS[0]), @r"
        exit 0
        --- stdout
        ┌────┬──────────┬──────┬───────────────────────┬─────────┬───────────┐
        │ ID ┆ AE Title ┆ Port ┆ Identifier            ┆ Enabled ┆ Label     │
        ╞════╪══════════╪══════╪═══════════════════════╪═════════╪═══════════╡
        │ 1  ┆ XNAT     ┆ 8104 ┆ dicomObjectIdentifier ┆ Yes     ┆ XNAT:8104 │
        └────┴──────────┴──────┴───────────────────────┴─────────┴───────────┘
        --- stderr
        --- writes
        ");
    insta::assert_snapshot!(out(&["scp", "list"], FORMATS[1]), @r#"
        exit 0
        --- stdout
        [
          {
            "id": 1,
            "aeTitle": "XNAT",
            "port": 8104,
            "identifier": "dicomObjectIdentifier",
            "enabled": true,
            "customProcessing": false,
            "directArchive": false,
            "anonymizationEnabled": true,
            "whitelistEnabled": false,
            "whitelist": [],
            "routingExpressionsEnabled": false,
            "label": "XNAT:8104"
          }
        ]
        --- stderr
        --- writes
        "#);
    insta::assert_snapshot!(out(&["scp", "list"], FORMATS[2]), @r"
        exit 0
        --- stdout
        id	aeTitle	port	identifier	enabled	label
        1	XNAT	8104	dicomObjectIdentifier	true	XNAT:8104
        --- stderr
        --- writes
        ");
    insta::assert_snapshot!(out(&["scp", "list"], FORMATS[3]), @r"
        exit 0
        --- stdout
        1
        --- stderr
        --- writes
        ");
    insta::assert_snapshot!(out(&["scp", "show", "1"], FORMATS[0]), @r"
        exit 0
        --- stdout
        ID                           1
        AE Title                     XNAT
        Port                         8104
        Identifier                   dicomObjectIdentifier
        Enabled                      Yes
        Custom Processing            No
        Direct Archive               No
        Anonymization Enabled        Yes
        Whitelist Enabled            No
        Whitelist                    []
        Routing Expressions Enabled  No
        Label                        XNAT:8104
        --- stderr
        --- writes
        ");
    insta::assert_snapshot!(out(&["scp", "show", "9"], FORMATS[0]), @r"
        exit 5
        --- stdout
        --- stderr
        error: DICOM SCP receiver not found: 9
        --- writes
        ");
}

#[test]
fn create_enable_disable_delete() {
    let env = TestEnv::empty();
    let dry = report(
        &env,
        command(
            &env,
            &[
                "scp",
                "create",
                "--ae-title",
                "RESEARCH",
                "--port",
                "11112",
                "--dry-run",
            ],
        ),
    );
    insta::assert_snapshot!(dry, @r"
        exit 0
        --- stdout
        --- stderr
        [dry-run] preview mode: no changes will be made
        [dry-run] Would create DICOM SCP receiver aeTitle='RESEARCH' port=11112 identifier='dicomObjectIdentifier'
        --- writes
        ");
    let r = report(
        &env,
        command(
            &env,
            &[
                "scp",
                "create",
                "--ae-title",
                "RESEARCH",
                "--port",
                "11112",
                "-y",
                "-o",
                "json",
            ],
        ),
    );
    insta::assert_snapshot!(r, @r#"
        exit 0
        --- stdout
        {
          "id": 2,
          "aeTitle": "RESEARCH",
          "port": 11112,
          "identifier": "dicomObjectIdentifier",
          "enabled": true,
          "customProcessing": false,
          "directArchive": false,
          "anonymizationEnabled": true,
          "whitelistEnabled": false,
          "whitelist": [],
          "routingExpressionsEnabled": false,
          "label": "RESEARCH:11112"
        }
        --- stderr
        ✓ Created DICOM SCP receiver 2 (RESEARCH:11112)
        --- writes
        POST /xapi/dicomscp
        "#);
    assert_eq!(
        receivers(&env),
        vec![
            (1, "XNAT".into(), 8104, true),
            (2, "RESEARCH".into(), 11112, true)
        ]
    );
    let taken = report(
        &env,
        command(
            &env,
            &[
                "scp",
                "create",
                "--ae-title",
                "OTHER",
                "--port",
                "8104",
                "-y",
            ],
        ),
    );
    insta::assert_snapshot!(taken, @r"
        exit 1
        --- stdout
        --- stderr
        error: DICOM SCP receiver on port already exists: 8104 (existing receiver: aeTitle='XNAT', id=1)
        --- writes
        ");
    let unknown = report(
        &env,
        command(
            &env,
            &[
                "scp",
                "create",
                "--ae-title",
                "OTHER",
                "--port",
                "104",
                "--identifier",
                "nope",
                "-y",
            ],
        ),
    );
    insta::assert_snapshot!(unknown, @r"
        exit 1
        --- stdout
        --- stderr
        error: unknown identifier: nope (the server has: dicomObjectIdentifier)
        --- writes
        ");
    let r = report(&env, command(&env, &["scp", "disable", "2", "-y"]));
    insta::assert_snapshot!(r, @r"
        exit 0
        --- stdout
        --- stderr
        ✓ Disabled DICOM SCP receiver 2
        --- writes
        PUT /xapi/dicomscp/2
        ");
    assert!(!receivers(&env)[1].3);
    let r = report(&env, command(&env, &["scp", "enable", "2", "-y"]));
    insta::assert_snapshot!(r, @r"
        exit 0
        --- stdout
        --- stderr
        ✓ Enabled DICOM SCP receiver 2
        --- writes
        PUT /xapi/dicomscp/2
        ");
    assert!(receivers(&env)[1].3);
    let r = report(&env, command(&env, &["scp", "delete", "2", "--dry-run"]));
    insta::assert_snapshot!(r, @r"
        exit 0
        --- stdout
        --- stderr
        [dry-run] preview mode: no changes will be made
        [dry-run] Would delete DICOM SCP receiver 2
        --- writes
        ");
    let r = report(&env, command(&env, &["scp", "delete", "2", "-y"]));
    insta::assert_snapshot!(r, @r"
        exit 0
        --- stdout
        --- stderr
        ✓ Deleted DICOM SCP receiver 2
        --- writes
        DELETE /xapi/dicomscp/2
        ");
    assert_eq!(receivers(&env).len(), 1);
    let r = report(&env, command(&env, &["scp", "delete", "2", "-y"]));
    insta::assert_snapshot!(r, @r"
        exit 5
        --- stdout
        --- stderr
        error: DICOM SCP receiver not found: 2
        --- writes
        ");
}

#[test]
fn bad_ae_titles_and_ports_are_usage_errors_before_any_request() {
    let env = TestEnv::empty();
    for (ae, port) in [
        ("A\\B", "104"),
        ("", "104"),
        ("SEVENTEEN_CHARS_X", "104"),
        ("OK", "0"),
        ("OK", "70000"),
    ] {
        env.clear_requests();
        let out = command(
            &env,
            &["scp", "create", "--ae-title", ae, "--port", port, "-y"],
        )
        .output()
        .unwrap();
        assert_eq!(out.status.code(), Some(2), "{ae} {port}");
        assert!(env.request_lines().is_empty());
    }
    let r = report(
        &env,
        command(
            &env,
            &["scp", "create", "--ae-title", "OK", "--port", "0", "-y"],
        ),
    );
    insta::assert_snapshot!(r, @r"
        exit 2
        --- stdout
        --- stderr
        error: invalid port: 0 (must be 1-65535)
        --- writes
        ");
    let r = report(
        &env,
        command(
            &env,
            &["scp", "create", "--ae-title", "A\\B", "--port", "1", "-y"],
        ),
    );
    insta::assert_snapshot!(r, @r#"
        exit 2
        --- stdout
        --- stderr
        error: invalid AE title: "A\\B" - must be 1-16 printable ASCII characters without a backslash
        --- writes
        "#);
}

#[test]
fn a_non_admin_is_refused_with_exit_6_and_nothing_changes() {
    let env = TestEnv::demo();
    let as_user = |args: &[&str]| {
        env.bare_cmd()
            .args(args)
            .env("XNAT_URL", env.url())
            .env("XNAT_USER", "user")
            .env("XNAT_PASS", "user")
            .output()
            .unwrap()
    };
    let show = as_user(&["scp", "show", "1"]);
    assert_eq!(
        show.status.code(),
        Some(6),
        "{}",
        crate::support::stderr_of(&show)
    );
    let create = as_user(&["scp", "create", "--ae-title", "X", "--port", "104", "-y"]);
    assert_eq!(
        create.status.code(),
        Some(6),
        "{}",
        crate::support::stderr_of(&create)
    );
    let delete = as_user(&["scp", "delete", "1", "-y"]);
    assert_eq!(
        delete.status.code(),
        Some(6),
        "{}",
        crate::support::stderr_of(&delete)
    );
    assert_eq!(receivers(&env).len(), 1);
}
