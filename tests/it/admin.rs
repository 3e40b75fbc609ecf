//! `admin` against the simulator: site information.

use crate::support::{command, report, with_format, TestEnv, FORMATS};

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
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        crate::support::stderr_of(&out)
    );
}
