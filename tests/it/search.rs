//! `xnatctl search …` against the simulator's stored searches: list in every format, show the
//! XML definition, run (rows keyed as the server sends them) and delete with confirmation.

use crate::support;

use crate::support::{command, snap_report, stderr_of, stdout_of, with_format, TestEnv, FORMATS};
use xnat_sim::routes::search::parse_search;
use xnat_sim::state::Project;

const DOC: &str = r#"<xdat:stored_search xmlns:xdat="http://nrg.xdat.org/security/xdat" ID="xs_projects" brief-description="All projects"><xdat:root_element_name>xnat:projectData</xdat:root_element_name></xdat:stored_search>"#;

fn seeded() -> TestEnv {
    let env = TestEnv::empty();
    env.sim.with_state_mut(|st| {
        let mut p = Project::new("P1", "admin");
        p.name = "Pilot".into();
        st.projects.insert("P1".into(), p);
        let s = parse_search("xs_projects", DOC).unwrap_or_else(|_| panic!("valid search"));
        st.saved_searches.insert(s.id.clone(), s);
    });
    env
}

crate::support::shared!(seeded);

fn run(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.cmd().args(args).output().expect("xnatctl runs")
}

#[test]
fn list_and_run_in_every_format() {
    let env = seeded();
    for (name, args) in [
        ("search_list_table", vec!["search", "list"]),
        ("search_list_json", vec!["search", "list", "-o", "json"]),
        ("search_list_quiet", vec!["search", "list", "-q"]),
        (
            "search_run_tsv",
            vec!["search", "run", "xs_projects", "-o", "tsv"],
        ),
        (
            "search_run_json",
            vec!["search", "run", "xs_projects", "-o", "json"],
        ),
        (
            "search_run_quiet",
            vec!["search", "run", "xs_projects", "-q"],
        ),
    ] {
        let out = run(&env, &args);
        assert!(out.status.success(), "{name}: {}", stderr_of(&out));
        support::insta_settings(&env).bind(|| insta::assert_snapshot!(name, stdout_of(&out)));
    }
}

#[test]
fn show_prints_the_definition_and_missing_is_not_found() {
    let env = seeded();
    let out = run(&env, &["search", "show", "xs_projects", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(v["id"], "xs_projects");
    assert!(v["definition_xml"]
        .as_str()
        .unwrap()
        .contains("xnat:projectData"));
    let out = run(&env, &["search", "show", "nope"]);
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn delete_checks_existence_confirms_and_audits() {
    let env = seeded();
    let present = |env: &TestEnv| {
        env.sim
            .with_state(|st| st.saved_searches.contains_key("xs_projects"))
    };
    let out = run(&env, &["search", "delete", "xs_projects", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(present(&env));
    let out = run(&env, &["search", "delete", "xs_projects", "-y"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "✓ Deleted saved search xs_projects\n");
    assert!(!present(&env));
    let out = run(&env, &["search", "delete", "xs_projects", "-y"]);
    assert_eq!(out.status.code(), Some(5));
    let audit = std::fs::read_to_string(env.config_dir().join("audit.log")).unwrap();
    assert_eq!(audit.lines().count(), 3);
}

#[test]
fn show_of_an_unknown_search_gives_no_label_hint() {
    let env = TestEnv::demo();
    let out = env
        .cmd()
        .args(["search", "show", "nope"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(stderr_of(&out), "error: saved search not found: nope\n");
}

fn search_ids(env: &TestEnv) -> Vec<String> {
    env.sim
        .with_state(|st| st.saved_searches.keys().cloned().collect::<Vec<_>>())
}

#[test]
fn list_prints_each_format_and_writes_nothing() {
    for fmt in FORMATS {
        let env = shared();
        let args = with_format(&["search", "list"], fmt);
        let name = format!("list_{fmt}");
        snap_report!(&env, name.as_str(), command(env, &args));
        assert_eq!(search_ids(env), ["xs_projects"], "{fmt}");
    }
}

#[test]
fn run_prints_each_format_and_writes_nothing() {
    for fmt in FORMATS {
        let env = shared();
        let args = with_format(&["search", "run", "xs_projects"], fmt);
        let name = format!("run_{fmt}");
        snap_report!(&env, name.as_str(), command(env, &args));
        assert_eq!(search_ids(env), ["xs_projects"], "{fmt}");
    }
}

#[test]
fn show_prints_each_format_and_writes_nothing() {
    for fmt in FORMATS {
        let env = shared();
        let args = with_format(&["search", "show", "xs_projects"], fmt);
        let name = format!("show_{fmt}");
        snap_report!(&env, name.as_str(), command(env, &args));
        assert_eq!(search_ids(env), ["xs_projects"], "{fmt}");
    }
}

#[test]
fn delete_prints_each_format_and_removes_exactly_that_search() {
    for fmt in FORMATS {
        let env = seeded();
        let args = with_format(&["search", "delete", "xs_projects", "-y"], fmt);
        let name = format!("delete_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        assert!(search_ids(&env).is_empty(), "{fmt}");
    }
}

#[test]
fn delete_dry_run_prints_each_format_and_removes_nothing() {
    for fmt in FORMATS {
        let env = seeded();
        let args = with_format(&["search", "delete", "xs_projects", "--dry-run"], fmt);
        let name = format!("delete_dry_run_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        assert_eq!(search_ids(&env), ["xs_projects"], "{fmt}");
    }
}
