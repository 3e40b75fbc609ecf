//! Unit tests for `validation`, kept in their own file so the module itself reads as the code it ships.

use super::*;

type V = fn(&str) -> Result<String>;

fn check(name: &str, f: V, valid: &[(&str, &str)], invalid: &[(&str, &str)]) {
    for (input, want) in valid {
        match f(input) {
            Ok(got) => assert_eq!(&got, want, "{name}({input:?})"),
            Err(e) => panic!("{name}({input:?}) should pass, got {e}"),
        }
    }
    for (input, fragment) in invalid {
        match f(input) {
            Ok(got) => panic!("{name}({input:?}) should fail, got {got:?}"),
            Err(e) => assert!(
                e.to_string().contains(fragment),
                "{name}({input:?}): {e} lacks {fragment:?}"
            ),
        }
    }
}

#[test]
fn xnat_identifier() {
    let a64 = "A".repeat(64);
    let a65 = "A".repeat(65);
    check(
        "identifier",
        |v| validate_xnat_identifier(v, "identifier"),
        &[
            ("PROJ_01", "PROJ_01"),
            ("a-b", "a-b"),
            ("  X1 ", "X1"),
            ("XNAT_E00001", "XNAT_E00001"),
            (&a64, &a64),
        ],
        &[
            ("", "cannot be empty"),
            (&a65, "exceeds maximum length of 64"),
            ("a.b", "only alphanumeric"),
            ("a b", "only alphanumeric"),
            ("ünï", "only alphanumeric"),
            ("x/y", "only alphanumeric"),
        ],
    );
    let e = validate_project_id("MY.PROJ").unwrap_err();
    assert!(
        e.to_string().starts_with("invalid project: MY.PROJ - "),
        "{e}"
    );
    assert_eq!(e.exit_code(), 1);
}

#[test]
fn project_subject_session_ids() {
    check(
        "project",
        validate_project_id,
        &[("MYPROJ", "MYPROJ"), ("my-proj_2", "my-proj_2")],
        &[("MY.PROJ", "invalid project"), (" ", "cannot be empty")],
    );
    check(
        "subject",
        validate_subject_id,
        &[("SUB001", "SUB001")],
        &[("SUB 001", "invalid subject"), ("S:1", "only alphanumeric")],
    );
    check(
        "session",
        validate_session_id,
        &[("SESS_01", "SESS_01")],
        &[("S:1", "invalid session"), (" ", "cannot be empty")],
    );
}

#[test]
fn scan_id() {
    let s32 = "s".repeat(32);
    let s33 = "s".repeat(33);
    check(
        "scan",
        validate_scan_id,
        &[("1", "1"), ("1a", "1a"), ("scan-2", "scan-2"), (&s32, &s32)],
        &[
            ("1.2", "only alphanumeric"),
            ("*", "only alphanumeric"),
            (&s33, "exceeds maximum length of 32"),
        ],
    );
}

#[test]
fn xnat_label() {
    let l255 = "l".repeat(255);
    let l256 = "l".repeat(256);
    check(
        "label",
        |v| validate_xnat_label(v, "label"),
        &[
            ("John.Doe", "John.Doe"),
            ("QA (v2)", "QA (v2)"),
            ("Ünïcode", "Ünïcode"),
            ("...x", "...x"),
            (&l255, &l255),
        ],
        &[
            (".", "only of dots"),
            ("..", "only of dots"),
            ("a/b", "'/'"),
            ("a#b", "'#'"),
            ("a%b", "'%'"),
            ("a?b", "'?'"),
            (" lead", "whitespace"),
            ("trail ", "whitespace"),
            ("a\u{85}b", "control character U+0085"),
            (&l256, "exceeds maximum length of 255"),
            ("", "cannot be empty"),
        ],
    );
}

#[test]
fn resource_labels() {
    check(
        "xnat_resource_label",
        validate_xnat_resource_label,
        &[
            ("DICOM", "DICOM"),
            ("QA#1", "QA#1"),
            ("a?b", "a?b"),
            ("50%", "50%"),
            ("NIFTI (v2)", "NIFTI (v2)"),
        ],
        &[
            ("a/b", "'/'"),
            ("a\\b", "'\\'"),
            ("..", "only of dots"),
            (" x", "whitespace"),
        ],
    );
    let r65 = "r".repeat(65);
    check(
        "resource_label",
        validate_resource_label,
        &[
            ("DICOM", "DICOM"),
            (" BIDS ", "BIDS"),
            ("a#b", "a#b"),
            ("..", ".."),
        ],
        &[
            ("a/b", "cannot contain"),
            ("a\\b", "cannot contain"),
            ("", "cannot be empty"),
            (&r65, "exceeds maximum length of 64"),
        ],
    );
}

#[test]
fn ae_title() {
    let a16 = "A".repeat(16);
    let a17 = "A".repeat(17);
    check(
        "ae_title",
        validate_ae_title,
        &[
            ("XNAT", "XNAT"),
            ("MY AE", "MY AE"),
            (" XNAT ", "XNAT"),
            (&a16, &a16),
        ],
        &[
            ("A\\B", "printable ASCII"),
            ("é", "printable ASCII"),
            ("", "cannot be empty"),
            (&a17, "exceeds maximum length of 16"),
        ],
    );
}

#[test]
fn server_url() {
    check(
        "server_url",
        validate_server_url,
        &[
            ("https://xnat.example.org/", "https://xnat.example.org"),
            ("http://localhost:8080", "http://localhost:8080"),
            ("  https://x.org//  ", "https://x.org"),
            ("HTTPS://X.ORG", "HTTPS://X.ORG"),
        ],
        &[
            ("xnat.example.org", "must include scheme"),
            ("ftp://x", "unsupported scheme"),
            ("https://u:p@host", "https://u:***@host"),
            ("https://user@host", "must not include credentials"),
            ("http://", "must include hostname"),
            ("", "cannot be empty"),
        ],
    );
    let e = validate_server_url("https://u:secretpw@host").unwrap_err();
    assert!(!e.to_string().contains("secretpw"), "{e}");
    assert!(matches!(e, Error::InvalidUrl { .. }));
}

#[test]
fn port() {
    for (input, want) in [
        ("1", 1),
        ("8104", 8104),
        ("  22", 22),
        ("3.7", 3),
        ("65535", 65535),
    ] {
        assert_eq!(validate_port(input).unwrap(), want, "{input}");
    }
    for input in ["0", "65536", "abc", ""] {
        let e = validate_port(input).unwrap_err();
        assert!(matches!(e, Error::InvalidPort { .. }), "{input}: {e}");
    }
}

#[test]
fn timeout_and_workers() {
    assert_eq!(validate_timeout(None).unwrap(), 21600);
    assert_eq!(validate_timeout(Some("1")).unwrap(), 1);
    assert_eq!(validate_timeout(Some("30")).unwrap(), 30);
    assert_eq!(validate_timeout(Some("3.9")).unwrap(), 3);
    for bad in ["0", "2592001", "abc"] {
        assert!(validate_timeout(Some(bad)).is_err(), "{bad}");
    }
    assert_eq!(validate_workers(None).unwrap(), 4);
    assert_eq!(validate_workers(Some("8")).unwrap(), 8);
    assert_eq!(validate_workers(Some("100")).unwrap(), 100);
    for bad in ["0", "101", "x"] {
        assert!(validate_workers(Some(bad)).is_err(), "{bad}");
    }
}

#[test]
fn scan_ids_input() {
    assert_eq!(validate_scan_ids_input("*").unwrap(), None);
    assert_eq!(validate_scan_ids_input(" * ").unwrap(), None);
    assert_eq!(
        validate_scan_ids_input("1,2,3").unwrap(),
        Some(vec!["1".into(), "2".into(), "3".into()])
    );
    assert_eq!(
        validate_scan_ids_input(" 1 , 2 ").unwrap(),
        Some(vec!["1".into(), "2".into()])
    );
    for (bad, frag) in [
        ("", "no valid scan IDs provided"),
        (",,", "no valid scan IDs provided"),
        ("1,a.b", "invalid scan: a.b"),
    ] {
        let e = validate_scan_ids_input(bad).unwrap_err();
        assert!(e.to_string().contains(frag), "{bad}: {e}");
    }
}

#[test]
fn project_list() {
    assert_eq!(validate_project_list("P1,P2").unwrap(), ["P1", "P2"]);
    assert_eq!(validate_project_list("P1,,P2").unwrap(), ["P1", "P2"]);
    for bad in ["", ",", "P 1"] {
        assert!(validate_project_list(bad).is_err(), "{bad}");
    }
}

#[test]
fn regex_pattern() {
    let re = validate_regex_pattern(r"^SUB(\d+)$").unwrap();
    assert_eq!(&re.captures("SUB12").unwrap()[1], "12");
    for bad in ["(", ""] {
        let e = validate_regex_pattern(bad).unwrap_err();
        assert!(e.to_string().starts_with("invalid regex pattern"), "{e}");
    }
}

#[test]
fn local_path_component() {
    check(
        "local_path_component",
        validate_local_path_component,
        &[
            ("scan1", "scan1"),
            ("John.Doe", "John.Doe"),
            ("QA (v2)", "QA (v2)"),
            ("COM0", "COM0"),
        ],
        &[
            ("CON", "reserved"),
            ("nul.txt", "reserved"),
            ("COM1", "reserved"),
            ("LPT¹", "reserved"),
            ("a:b", "':'"),
            ("a?b", "cannot contain any of"),
            ("a*b", "cannot contain any of"),
            (".hidden", "start or end"),
            ("trail.", "start or end"),
            ("trail ", "start or end"),
            ("e\u{301}", "NFC"),
            ("", "cannot be empty"),
            ("  ", "cannot be empty"),
            ("a\tb", "control"),
            ("a/b", "separators"),
            ("...", "only of dots"),
        ],
    );
    let e = validate_local_path_component("CON").unwrap_err();
    assert!(matches!(e, Error::InvalidPath { .. }));
    assert!(e.to_string().starts_with("invalid path: CON - "), "{e}");
}

#[test]
fn custom_field_name() {
    check(
        "field",
        validate_custom_field_name,
        &[("studytag", "studytag"), ("x.y", "x.y"), ("a-b_1", "a-b_1")],
        &[
            ("co hort", "only letters"),
            ("a]b", "only letters"),
            ("", "cannot be empty"),
        ],
    );
}
