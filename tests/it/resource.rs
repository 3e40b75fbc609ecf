//! `resource` commands against the simulator: every output format, and the exact requests.
use crate::support;

use crate::support::{
    command, run, snap, snap_formats, snap_report, stdout_of, with_format, TestEnv, FORMATS,
};

#[test]
fn list_scan_resources_in_every_format() {
    let env = TestEnv::demo();
    snap_formats!(
        &env,
        "list",
        &["resource", "list", "XNAT_E00001", "--scan", "2"]
    );
    snap!(
        &env,
        "list_quiet",
        &["resource", "list", "XNAT_E00001", "--scan", "2", "-q"],
    );
}

#[test]
fn show_in_every_format() {
    let env = TestEnv::demo();
    snap_formats!(
        &env,
        "show",
        &["resource", "show", "XNAT_E00001", "DICOM", "--scan", "2"]
    );
    snap!(
        &env,
        "show_quiet",
        &[
            "resource",
            "show",
            "XNAT_E00001",
            "DICOM",
            "--scan",
            "2",
            "-q",
        ],
    );
}

#[test]
fn refresh_posts_the_catalog_service() {
    let env = TestEnv::demo();
    env.clear_requests();
    snap!(
        &env,
        "refresh_json",
        &[
            "resource",
            "refresh",
            "/archive/experiments/XNAT_E00001",
            "--options",
            "checksum,populateStats",
            "-o",
            "json",
        ],
    );
    assert!(env.request_lines().iter().any(|l| l
        == "POST /data/services/refresh/catalog?resource=%2Farchive%2Fexperiments%2FXNAT_E00001&options=checksum%2CpopulateStats"));
    let (_, code) = run(
        &env,
        &["resource", "refresh", "/archive/x", "--options", "bogus"],
    );
    assert_eq!(code, 2);
}

#[test]
fn upload_help_names_its_positionals() {
    let env = TestEnv::demo();
    let out = env
        .cmd()
        .args(["resource", "upload", "--help"])
        .output()
        .expect("runs");
    assert!(stdout_of(&out)
        .contains("Usage: xnatctl resource upload [OPTIONS] [SESSION] <LABEL> <PATH>\n"));
}

#[test]
fn refresh_prints_each_format_and_posts_exactly_one_refresh() {
    for fmt in FORMATS {
        let env = TestEnv::demo();
        let args = with_format(
            &[
                "resource",
                "refresh",
                "/archive/experiments/XNAT_E00001",
                "--options",
                "checksum,populateStats",
            ],
            fmt,
        );
        let name = format!("refresh_report_{fmt}");
        snap_report!(&env, name.as_str(), command(&env, &args));
        assert_eq!(
            support::count_requests(&env, "POST /data/services/refresh/catalog?"),
            1,
            "{fmt}"
        );
    }
}

#[test]
fn show_refuses_a_label_longer_than_64_characters() {
    let env = TestEnv::demo();
    let long = "L".repeat(65);
    let out = env
        .cmd()
        .args(["resource", "show", "XNAT_E00001", &long])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", support::stderr_of(&out));
    assert!(
        support::stderr_of(&out).contains("exceeds maximum length of 64"),
        "{}",
        support::stderr_of(&out)
    );
    assert!(
        !env.request_lines().iter().any(|l| l.contains("/resources")),
        "{:?}",
        env.request_lines()
    );
}
