//! `scp list|show|create|enable|disable|delete` against the simulator's `/xapi/dicomscp`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::dicom::{tool, write_study};
use crate::support::{command, report, stderr_of, with_format, TestEnv, FORMATS};

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

// --- The receivers drive the simulator's DICOM listeners -------------------------------------

/// `session upload-dicom DIR` to `addr` calling `aet`.
fn upload_dicom(env: &TestEnv, dir: &Path, addr: SocketAddr, aet: &str) -> Output {
    let port = addr.port().to_string();
    env.bare_cmd()
        .args(["session", "upload-dicom", dir.to_str().unwrap()])
        .args(["--host", "127.0.0.1", "--port", &port, "--called-aet", aet])
        .output()
        .unwrap()
}

/// dcmtk's echoscu calling `aet` at `addr`: did the association succeed?
fn echo(echoscu: &Path, addr: SocketAddr, aet: &str) -> bool {
    Command::new(echoscu)
        .args(["-aec", aet, "127.0.0.1", &addr.port().to_string()])
        .output()
        .unwrap()
        .status
        .success()
}

/// The names of the sessions in the prearchive, sorted.
fn prearchive_names(env: &TestEnv) -> Vec<String> {
    let out = env
        .cmd()
        .args(["prearchive", "list", "-o", "json"])
        .output()
        .unwrap();
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn scp(env: &TestEnv, args: &[&str]) {
    let out = command(env, args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
}

#[test]
fn the_default_port_accepts_an_ae_title_only_while_its_receiver_is_enabled() {
    let env = TestEnv::empty();
    let addr = env.sim.start_dicom_receiver("XNAT").unwrap();
    let work = tempfile::tempdir().unwrap();
    write_study(&work.path().join("a"), "PATA", 1, 2);
    write_study(&work.path().join("b"), "PATB", 2, 2);
    scp(&env, &["scp", "disable", "1", "-y"]);
    let out = upload_dicom(&env, &work.path().join("a"), addr, "XNAT");
    // One line names the settings and dcm4che's reason; exit 1 (a DICOM error), nothing stored.
    assert_eq!(out.status.code(), Some(1));
    let stderr = stderr_of(&out).replace(&addr.port().to_string(), "PORT");
    insta::assert_snapshot!(stderr.lines().last().unwrap(), @"error: DICOM error: C-ECHO failed - check host/port/AET settings (host=127.0.0.1, port=PORT, called_aet=XNAT): association with 127.0.0.1:PORT failed: association rejected called AE title not recognized");
    assert!(prearchive_names(&env).is_empty());
    scp(&env, &["scp", "enable", "1", "-y"]);
    let out = upload_dicom(&env, &work.path().join("a"), addr, "XNAT");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(prearchive_names(&env), ["PATA"]);
    scp(&env, &["scp", "delete", "1", "-y"]);
    let out = upload_dicom(&env, &work.path().join("b"), addr, "XNAT");
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("called AE title not recognized"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(prearchive_names(&env), ["PATA"]);
}

#[test]
fn a_receiver_on_its_own_port_listens_while_enabled_and_stores_into_the_prearchive() {
    let Some(echoscu) = tool("echoscu") else {
        return;
    };
    let Some(storescu) = tool("storescu") else {
        return;
    };
    let env = TestEnv::empty();
    let default = env.sim.start_dicom_receiver("XNAT").unwrap();
    env.sim.listen_on_receiver_ports();
    assert_eq!(env.sim.dicom_listener(11112), None);
    scp(
        &env,
        &[
            "scp",
            "create",
            "--ae-title",
            "RESEARCH",
            "--port",
            "11112",
            "-y",
        ],
    );
    let research = env.sim.dicom_listener(11112).expect("a listener for 11112");
    assert!(echo(&echoscu, research, "RESEARCH"));
    // Each AE title only on its own port.
    assert!(!echo(&echoscu, research, "XNAT"));
    assert!(!echo(&echoscu, default, "RESEARCH"));
    assert!(echo(&echoscu, default, "XNAT"));
    let work = tempfile::tempdir().unwrap();
    let files = write_study(work.path(), "PATSCU", 3, 2);
    let stored = Command::new(&storescu)
        .args([
            "-aec",
            "RESEARCH",
            "127.0.0.1",
            &research.port().to_string(),
        ])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        stored.status.success(),
        "{}",
        String::from_utf8_lossy(&stored.stderr)
    );
    assert_eq!(prearchive_names(&env), ["PATSCU"]);
    // Disabled: its port's only receiver is gone, so the port is not listened on (XNAT cycles
    // the port and finds nothing to start): our client cannot reach it (exit 4).
    scp(&env, &["scp", "disable", "2", "-y"]);
    assert_eq!(env.sim.dicom_listener(11112), None);
    let out = upload_dicom(&env, work.path(), research, "RESEARCH");
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains(&format!(
            "error: cannot reach dicom://127.0.0.1:{}",
            research.port()
        )),
        "{}",
        stderr_of(&out)
    );
    scp(&env, &["scp", "enable", "2", "-y"]);
    let research = env.sim.dicom_listener(11112).expect("listening again");
    let out = upload_dicom(&env, work.path(), research, "RESEARCH");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    scp(&env, &["scp", "delete", "2", "-y"]);
    assert_eq!(env.sim.dicom_listener(11112), None);
    assert!(!echo(&echoscu, research, "RESEARCH"));
    // The default port never closes.
    assert!(echo(&echoscu, default, "XNAT"));
}

#[test]
fn a_direct_archive_receiver_archives_a_routed_study_and_prearchives_an_unrouted_one() {
    let Some(dcmodify) = tool("dcmodify") else {
        return;
    };
    let env = TestEnv::demo();
    let addr = env.sim.start_dicom_receiver("XNAT").unwrap();
    env.sim
        .with_state_mut(|st| st.scp_receivers.get_mut(&1).unwrap().direct_archive = true);
    let work = tempfile::tempdir().unwrap();
    let routed = write_study(&work.path().join("routed"), "PATDA", 7, 2);
    let ok = Command::new(&dcmodify)
        .args(["-nb", "-i", "(0010,4000)=Project: DEMO_MR; Session: DA_MR1"])
        .args(&routed)
        .status()
        .unwrap();
    assert!(ok.success());
    write_study(&work.path().join("unrouted"), "PATUN", 8, 1);
    let before = prearchive_names(&env);
    let out = upload_dicom(&env, &work.path().join("routed"), addr, "XNAT");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(prearchive_names(&env), before);
    let scans = env.sim.with_state(|st| {
        let e = st
            .experiments
            .values()
            .find(|e| e.label == "DA_MR1")
            .expect("archived");
        (e.project.clone(), e.scans.len())
    });
    assert_eq!(scans, ("DEMO_MR".to_string(), 1));
    let out = upload_dicom(&env, &work.path().join("unrouted"), addr, "XNAT");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(prearchive_names(&env).contains(&"PATUN".to_string()));
}

#[test]
fn a_whitelisting_receiver_admits_only_the_listed_callers() {
    let Some(echoscu) = tool("echoscu") else {
        return;
    };
    let env = TestEnv::empty();
    let addr = env.sim.start_dicom_receiver("XNAT").unwrap();
    let set = |list: &[&str]| {
        env.sim.with_state_mut(|st| {
            let r = st.scp_receivers.get_mut(&1).unwrap();
            r.whitelist_enabled = true;
            r.whitelist = list.iter().map(|s| s.to_string()).collect();
        })
    };
    let echo_as = |calling: &str| {
        Command::new(&echoscu)
            .args(["-aet", calling, "-aec", "XNAT", "127.0.0.1"])
            .arg(addr.port().to_string())
            .output()
            .unwrap()
    };
    set(&["SCANNER@127.0.0.1"]);
    assert!(echo_as("SCANNER").status.success());
    let other = echo_as("OTHER");
    assert!(!other.status.success());
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("Calling AE Title Not Recognized"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    set(&["127.0.0.0/8"]);
    assert!(echo_as("OTHER").status.success());
    set(&["SCANNER@10.0.0.0/8"]);
    assert!(!echo_as("SCANNER").status.success());
}
