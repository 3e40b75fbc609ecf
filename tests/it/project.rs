//! `xnatctl project …` against the simulator: listing in every format, paging that stops at
//! `--limit`, creation with escaped XML, accessibility, grant/revoke and their audit records.

use crate::support;

use crate::support::{command, snap_report, stderr_of, stdout_of, with_format, TestEnv, FORMATS};
use xnat_sim::state::{AccessRequest, Project, Role};

/// Three projects, a second user `Bob` (member of ALPHA) and one access request.
fn seeded() -> TestEnv {
    let env = TestEnv::empty();
    env.sim.with_state_mut(|st| {
        st.add_user("Bob", "bob", false);
        for (id, name, pi, desc) in [
            ("ALPHA", "Alpha study", "Smith", "First project"),
            (
                "BETA",
                "Beta & co",
                "Jones",
                "A description that is definitely longer than fifty characters in total",
            ),
            ("GAMMA", "Gamma", "", ""),
        ] {
            let mut p = Project::new(id, "admin");
            p.name = name.into();
            p.pi_lastname = pi.into();
            p.description = desc.into();
            st.projects.insert(id.into(), p);
        }
        let alpha = st.projects.get_mut("ALPHA").unwrap();
        alpha.role_set_mut(Role::Member).insert("Bob".into());
        alpha.access_requests.push(AccessRequest {
            par_id: 7,
            approver: "admin".into(),
            email: "carol@example.org".into(),
            level: "member".into(),
            create_date: "2024-01-02 03:04:05.0".into(),
            approved: None,
        });
    });
    env
}

crate::support::shared!(seeded);

fn run(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.cmd().args(args).output().expect("xnatctl runs")
}

fn audit_lines(env: &TestEnv) -> Vec<serde_json::Value> {
    std::fs::read_to_string(env.config_dir().join("audit.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn list_in_every_format() {
    let env = seeded();
    for (name, args) in [
        ("project_list_table", vec!["project", "list"]),
        ("project_list_json", vec!["project", "list", "-o", "json"]),
        ("project_list_tsv", vec!["project", "list", "-o", "tsv"]),
        ("project_list_quiet", vec!["project", "list", "-q"]),
    ] {
        let out = run(&env, &args);
        assert!(out.status.success(), "{name}: {}", stderr_of(&out));
        support::insta_settings(&env).bind(|| insta::assert_snapshot!(name, stdout_of(&out)));
    }
}

#[test]
fn list_limit_asks_only_for_what_it_needs() {
    let env = seeded();
    env.clear_requests();
    let out = run(&env, &["project", "list", "--limit", "2", "-q"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "ALPHA\nBETA\n");
    let lists: Vec<String> = env
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("GET /data/projects"))
        .collect();
    assert_eq!(lists.len(), 1, "{lists:?}");
    assert!(
        lists[0].contains("offset=0") && lists[0].contains("limit=2"),
        "{lists:?}"
    );
}

#[test]
fn list_filter_and_sort_fetch_the_whole_set() {
    let env = seeded();
    env.clear_requests();
    let out = run(
        &env,
        &[
            "project",
            "list",
            "--filter",
            "pi:?*",
            "--sort-by",
            "id:desc",
            "--limit",
            "1",
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "BETA\n");
    let lists: Vec<String> = env
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("GET /data/projects"))
        .collect();
    assert_eq!(lists.len(), 1);
    assert!(!lists[0].contains("limit="), "{lists:?}");
}

#[test]
fn show_counts_subjects_and_sessions() {
    let env = seeded();
    let out = run(&env, &["project", "show", "BETA", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    support::insta_settings(&env).bind(|| insta::assert_snapshot!(stdout_of(&out)));
    let out = run(&env, &["project", "show", "NOPE"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
}

#[test]
fn project_sub_listings_name_an_unknown_project() {
    let env = seeded();
    for args in [
        ["project", "users", "NOPE"],
        ["project", "requests", "NOPE"],
        ["project", "access", "NOPE"],
    ] {
        let out = run(&env, &args);
        assert_eq!(out.status.code(), Some(5), "{args:?}: {}", stderr_of(&out));
        let first = stderr_of(&out)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        assert_eq!(first, "error: project not found: NOPE", "{args:?}");
    }
}

#[test]
fn create_escapes_xml_and_stores_the_values() {
    let env = seeded();
    let out = run(
        &env,
        &[
            "project",
            "create",
            "NEW1",
            "--name",
            "R&D <pilot>",
            "--description",
            "a \"quoted\" & odd one",
            "--pi",
            "O'Neil",
            "--accessibility",
            "protected",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "✓ Project created: NEW1\n");
    let (name, desc, pi, acc) = env.sim.with_state(|st| {
        let p = &st.projects["NEW1"];
        (
            p.name.clone(),
            p.description.clone(),
            p.pi_lastname.clone(),
            p.accessibility.as_str().to_string(),
        )
    });
    assert_eq!(name, "R&D <pilot>");
    assert_eq!(desc, "a \"quoted\" & odd one");
    assert_eq!(pi, "O'Neil");
    assert_eq!(acc, "protected");
    assert!(env
        .request_lines()
        .contains(&"POST /data/projects/NEW1?accessibility=protected".to_string()));
}

#[test]
fn create_refuses_an_existing_project_and_leaves_it_alone() {
    let env = seeded();
    let before = env.sim.with_state(|st| st.projects["ALPHA"].name.clone());
    env.clear_requests();
    let out = run(&env, &["project", "create", "ALPHA", "--name", "clobbered"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("project already exists: ALPHA"),
        "{}",
        stderr_of(&out)
    );
    let after = env.sim.with_state(|st| st.projects["ALPHA"].name.clone());
    assert_eq!(before, after);
    assert!(
        !env.request_lines()
            .iter()
            .any(|l| l.starts_with("POST /data/projects")),
        "{:?}",
        env.request_lines()
    );
}

#[test]
fn access_reads_and_sets_with_confirmation_and_audit() {
    let env = seeded();
    let out = run(&env, &["project", "access", "ALPHA", "-o", "json"]);
    assert_eq!(
        stdout_of(&out),
        "{\n  \"project\": \"ALPHA\",\n  \"accessibility\": \"private\"\n}\n"
    );
    let out = run(&env, &["project", "access", "ALPHA", "-q"]);
    assert_eq!(stdout_of(&out), "ALPHA\n");
    assert!(audit_lines(&env).is_empty(), "reading is not audited");

    // Without --yes on a non-terminal stdin nothing changes.
    let out = run(&env, &["project", "access", "ALPHA", "--set", "public"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(
        &env,
        &["project", "access", "ALPHA", "--set", "public", "--dry-run"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let acc = |env: &TestEnv| {
        env.sim
            .with_state(|st| st.projects["ALPHA"].accessibility.as_str())
    };
    assert_eq!(acc(&env), "private");
    let out = run(
        &env,
        &["project", "access", "ALPHA", "--set", "public", "--yes"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "✓ Set ALPHA accessibility to public\n");
    assert_eq!(acc(&env), "public");
    // Every attempt is audited, the one refused for want of --yes included.
    let audit = audit_lines(&env);
    assert_eq!(audit.len(), 3);
    assert_eq!(audit[0]["success"], false);
    assert!(audit[0]["error"].as_str().unwrap().contains("--yes"));
    assert_eq!(audit[1]["dry_run"], true);
    assert_eq!(audit[2]["operation"], "project access");
    assert_eq!(audit[2]["success"], true);
    assert_eq!(audit[2]["project"], "ALPHA");
}

#[test]
fn users_and_requests_in_formats() {
    let env = seeded();
    for (name, args) in [
        ("project_users_table", vec!["project", "users", "ALPHA"]),
        (
            "project_users_json",
            vec!["project", "users", "ALPHA", "-o", "json"],
        ),
        (
            "project_users_tsv",
            vec!["project", "users", "ALPHA", "-o", "tsv"],
        ),
        (
            "project_users_quiet",
            vec!["project", "users", "ALPHA", "-q"],
        ),
        (
            "project_requests_table",
            vec!["project", "requests", "ALPHA"],
        ),
        (
            "project_requests_json",
            vec!["project", "requests", "ALPHA", "-o", "json"],
        ),
        (
            "project_requests_quiet",
            vec!["project", "requests", "ALPHA", "-q"],
        ),
    ] {
        let out = run(&env, &args);
        assert!(out.status.success(), "{name}: {}", stderr_of(&out));
        support::insta_settings(&env).bind(|| insta::assert_snapshot!(name, stdout_of(&out)));
    }
}

#[test]
fn grant_then_revoke_uses_the_servers_login_casing() {
    let env = seeded();
    let out = run(
        &env,
        &[
            "project",
            "grant",
            "GAMMA",
            "Bob",
            "--role",
            "collaborator",
            "-y",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(env
        .sim
        .with_state(|st| st.projects["GAMMA"].collaborators.contains("Bob")));

    env.clear_requests();
    let out = run(&env, &["project", "revoke", "GAMMA", "bob", "--yes"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        stderr_of(&out),
        "✓ Revoked Bob's access to GAMMA (removed from: collaborator)\n"
    );
    assert!(env
        .request_lines()
        .contains(&"DELETE /data/projects/GAMMA/users/GAMMA_collaborator/Bob".to_string()));
    assert!(!env
        .sim
        .with_state(|st| st.projects["GAMMA"].collaborators.contains("Bob")));

    let out = run(&env, &["project", "revoke", "GAMMA", "bob", "--yes"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr_of(&out).contains("project user not found: GAMMA/bob"));
    let audit = audit_lines(&env);
    let ops: Vec<(&str, bool)> = audit
        .iter()
        .map(|a| {
            (
                a["operation"].as_str().unwrap(),
                a["success"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("project grant", true),
            ("project revoke", true),
            ("project revoke", false)
        ]
    );
}

#[test]
fn invalid_ids_never_reach_the_server() {
    let env = seeded();
    env.clear_requests();
    let out = run(&env, &["project", "show", "a/b"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(env.request_lines().is_empty(), "{:?}", env.request_lines());
}

#[test]
fn list_json_of_typed_rows_matches_the_generic_listing() {
    let env = seeded();
    env.sim.with_state_mut(|st| {
        // More than one server page, and a description cut at 50 characters, not bytes.
        for i in 0..5001 {
            let id = format!("P{i:05}");
            let mut p = Project::new(&id, "admin");
            p.name = format!("Project \"{i}\"");
            p.description = "é".repeat(60);
            st.projects.insert(id, p);
        }
    });
    env.clear_requests();
    let fast = run(&env, &["project", "list", "-o", "json"]);
    assert!(fast.status.success(), "{}", stderr_of(&fast));
    let lists: Vec<String> = env
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("GET /data/projects"))
        .collect();
    assert_eq!(lists.len(), 2, "{lists:?}");
    assert!(lists[0].contains("offset=0&limit=5000"), "{lists:?}");
    assert!(lists[1].contains("offset=5000&limit=5000"), "{lists:?}");

    // `--columns` only shapes tables, so this prints the same rows through the generic listing.
    let generic = run(
        &env,
        &[
            "project",
            "list",
            "-o",
            "json",
            "--columns",
            "id,name,pi,description",
        ],
    );
    assert!(generic.status.success(), "{}", stderr_of(&generic));
    assert_eq!(stdout_of(&fast), stdout_of(&generic));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout_of(&fast)).unwrap();
    assert_eq!(rows.len(), 5004);
    let p0 = rows.iter().find(|r| r["id"] == "P00000").unwrap();
    assert_eq!(p0["name"], "Project \"0\"");
    assert_eq!(p0["description"], "é".repeat(50));

    let limited = run(&env, &["project", "list", "-o", "json", "--limit", "2"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout_of(&limited)).unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["ALPHA", "BETA"]);
}

fn project_ids(env: &TestEnv) -> Vec<String> {
    env.sim
        .with_state(|st| st.projects.keys().cloned().collect::<Vec<_>>())
}

#[test]
fn requests_prints_each_format_and_writes_nothing() {
    for fmt in FORMATS {
        let env = shared();
        let args = with_format(&["project", "requests", "ALPHA"], fmt);
        let name = format!("requests_{fmt}");
        snap_report!(&env, name.as_str(), command(env, &args));
        let pending = env.sim.with_state(|st| {
            st.projects["ALPHA"]
                .access_requests
                .iter()
                .filter(|r| r.approved.is_none())
                .count()
        });
        assert_eq!(pending, 1, "{fmt}");
    }
}

#[test]
fn show_prints_each_format_and_writes_nothing() {
    for fmt in FORMATS {
        let env = shared();
        let args = with_format(&["project", "show", "BETA"], fmt);
        let name = format!("show_{fmt}");
        snap_report!(&env, name.as_str(), command(env, &args));
        assert_eq!(project_ids(env), ["ALPHA", "BETA", "GAMMA"], "{fmt}");
    }
}

#[test]
fn create_prints_each_format_and_stores_exactly_one_project() {
    for fmt in FORMATS {
        let env = seeded();
        let args = with_format(
            &[
                "project",
                "create",
                "NEW1",
                "--name",
                "R&D <pilot>",
                "--pi",
                "O'Neil",
                "--accessibility",
                "protected",
            ],
            fmt,
        );
        let name = format!("create_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        assert_eq!(
            project_ids(&env),
            ["ALPHA", "BETA", "GAMMA", "NEW1"],
            "{fmt}"
        );
        let (name, pi, acc) = env.sim.with_state(|st| {
            let p = &st.projects["NEW1"];
            (
                p.name.clone(),
                p.pi_lastname.clone(),
                p.accessibility.as_str().to_string(),
            )
        });
        assert_eq!(
            (name.as_str(), pi.as_str(), acc.as_str()),
            ("R&D <pilot>", "O'Neil", "protected"),
            "{fmt}"
        );
    }
}

#[test]
fn access_prints_each_format_and_writes_nothing() {
    for fmt in FORMATS {
        let env = shared();
        let args = with_format(&["project", "access", "ALPHA"], fmt);
        let name = format!("access_{fmt}");
        snap_report!(&env, name.as_str(), command(env, &args));
        let acc = env
            .sim
            .with_state(|st| st.projects["ALPHA"].accessibility.as_str());
        assert_eq!(acc, "private", "{fmt}");
    }
}

#[test]
fn access_set_prints_each_format_and_changes_exactly_that_project() {
    for fmt in FORMATS {
        let env = seeded();
        let args = with_format(
            &["project", "access", "ALPHA", "--set", "public", "--yes"],
            fmt,
        );
        let name = format!("access_set_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        let acc = env.sim.with_state(|st| {
            st.projects
                .values()
                .map(|p| (p.id.clone(), p.accessibility.as_str()))
                .collect::<Vec<_>>()
        });
        assert_eq!(
            acc,
            [
                ("ALPHA".to_string(), "public"),
                ("BETA".to_string(), "private"),
                ("GAMMA".to_string(), "private")
            ],
            "{fmt}"
        );
    }
}

#[test]
fn grant_prints_each_format_and_adds_exactly_that_role() {
    for fmt in FORMATS {
        let env = seeded();
        let args = with_format(
            &[
                "project",
                "grant",
                "GAMMA",
                "Bob",
                "--role",
                "collaborator",
                "-y",
            ],
            fmt,
        );
        let name = format!("grant_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        let collaborators = env
            .sim
            .with_state(|st| st.projects["GAMMA"].collaborators.clone());
        assert_eq!(
            collaborators.into_iter().collect::<Vec<_>>(),
            ["Bob"],
            "{fmt}"
        );
    }
}

#[test]
fn revoke_prints_each_format_and_removes_exactly_that_membership() {
    for fmt in FORMATS {
        let env = seeded();
        let args = with_format(&["project", "revoke", "ALPHA", "bob", "--yes"], fmt);
        let name = format!("revoke_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        let members = env
            .sim
            .with_state(|st| st.projects["ALPHA"].members.clone());
        assert!(members.is_empty(), "{fmt}: {members:?}");
    }
}

#[test]
fn a_reset_while_reading_the_listing_is_retried() {
    let env = seeded();
    env.sim.add_fault(xnat_sim::FaultRule::reset_after(
        "GET",
        "/data/projects",
        30,
        1,
    ));
    env.clear_requests();
    let out = run(&env, &["project", "list", "-q"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "ALPHA\nBETA\nGAMMA\n");
    let lists = env
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("GET /data/projects"))
        .count();
    assert_eq!(lists, 2);
}
