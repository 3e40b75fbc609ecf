//! Input validators shared by every command, so that bad identifiers, URLs and names are refused
//! before any request is sent, with the same rules and messages as the reference tool.
//!
//! Each validator returns the cleaned value (trimmed where the rule says so) or a typed
//! [`Error`]: `InvalidIdentifier`, `InvalidUrl`, `InvalidPort`, `InvalidPath` or `InvalidInput`.

use std::sync::OnceLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

use crate::core::error::{Error, Result};
use crate::core::redact::mask_userinfo;

/// Longest accepted project, subject or session identifier.
pub const MAX_IDENTIFIER_LEN: usize = 64;
/// Longest accepted scan identifier.
pub const MAX_SCAN_ID_LEN: usize = 32;
/// Longest accepted XNAT label (hierarchy references and rename targets).
pub const MAX_LABEL_LEN: usize = 255;
/// Longest accepted resource label on the command line.
pub const MAX_RESOURCE_LABEL_LEN: usize = 64;
/// Longest accepted DICOM AE title.
pub const MAX_AE_TITLE_LEN: usize = 16;
/// Default read/write timeout in seconds when none is given.
pub const DEFAULT_TIMEOUT_SECS: u64 = 21_600;
/// Largest accepted timeout in seconds (30 days).
pub const MAX_TIMEOUT_SECS: u64 = 2_592_000;
/// Default worker count when none is given.
pub const DEFAULT_WORKERS: usize = 4;
/// Largest accepted worker count.
pub const MAX_WORKERS: usize = 100;

fn ident_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[A-Za-z0-9_-]+$").expect("valid regex"))
}

fn field_name_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[A-Za-z0-9_.\-]+$").expect("valid regex"))
}

fn identifier(value: &str, kind: &str, max_len: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::invalid_id(kind, value, "cannot be empty"));
    }
    if v.chars().count() > max_len {
        return Err(Error::invalid_id(
            kind,
            value,
            format!("exceeds maximum length of {max_len}"),
        ));
    }
    if !ident_re().is_match(v) {
        return Err(Error::invalid_id(
            kind,
            value,
            "must contain only alphanumeric characters, underscores, and hyphens",
        ));
    }
    Ok(v.to_string())
}

/// Validate a generic XNAT identifier: trimmed, non-empty, at most 64 ASCII `[A-Za-z0-9_-]`.
pub fn validate_xnat_identifier(value: &str, kind: &str) -> Result<String> {
    identifier(value, kind, MAX_IDENTIFIER_LEN)
}

/// Validate a project ID (the identifier rule, reported as `project`).
pub fn validate_project_id(value: &str) -> Result<String> {
    identifier(value, "project", MAX_IDENTIFIER_LEN)
}

/// Validate a subject ID or label given as an ID (the identifier rule, reported as `subject`).
pub fn validate_subject_id(value: &str) -> Result<String> {
    identifier(value, "subject", MAX_IDENTIFIER_LEN)
}

/// Validate a session (experiment) ID or label (the identifier rule, reported as `session`).
pub fn validate_session_id(value: &str) -> Result<String> {
    identifier(value, "session", MAX_IDENTIFIER_LEN)
}

/// Validate a scan ID: the identifier rule with a maximum length of 32.
pub fn validate_scan_id(value: &str) -> Result<String> {
    identifier(value, "scan", MAX_SCAN_ID_LEN)
}

fn is_c0_c1_control(c: char) -> bool {
    matches!(c, '\u{00}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

fn label_like(value: &str, kind: &str, forbidden: &[char]) -> Result<String> {
    if value.is_empty() {
        return Err(Error::invalid_id(kind, value, "cannot be empty"));
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return Err(Error::invalid_id(
            kind,
            value,
            "cannot have leading or trailing whitespace",
        ));
    }
    if value.chars().count() > MAX_LABEL_LEN {
        return Err(Error::invalid_id(
            kind,
            value,
            format!("exceeds maximum length of {MAX_LABEL_LEN}"),
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| forbidden.contains(c) || is_c0_c1_control(*c))
    {
        let shown = if is_c0_c1_control(c) {
            format!("control character U+{:04X}", c as u32)
        } else {
            format!("'{c}'")
        };
        return Err(Error::invalid_id(
            kind,
            value,
            format!("cannot contain {shown}"),
        ));
    }
    if value.chars().all(|c| c == '.') {
        return Err(Error::invalid_id(
            kind,
            value,
            "cannot consist only of dots",
        ));
    }
    Ok(value.to_string())
}

/// Validate an XNAT label (hierarchy references, rename targets). Not trimmed: leading or trailing
/// whitespace is refused, as are `/ \ ? # %`, control characters and all-dot labels.
pub fn validate_xnat_label(value: &str, kind: &str) -> Result<String> {
    label_like(value, kind, &['/', '\\', '?', '#', '%'])
}

/// Validate a resource label inside a resource reference: like [`validate_xnat_label`] but
/// `# ? %` are allowed (they are percent-encoded in the path).
pub fn validate_xnat_resource_label(value: &str) -> Result<String> {
    label_like(value, "resource", &['/', '\\'])
}

/// Validate a resource label given on the command line: trimmed, non-empty, no `/` or `\`, at
/// most 64 characters. A dots-only label passes here; [`validate_xnat_resource_label`] refuses it.
pub fn validate_resource_label(value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::invalid_id("resource", value, "cannot be empty"));
    }
    if v.contains(['/', '\\']) {
        return Err(Error::invalid_id(
            "resource",
            value,
            "cannot contain '/' or '\\'",
        ));
    }
    if v.chars().count() > MAX_RESOURCE_LABEL_LEN {
        return Err(Error::invalid_id(
            "resource",
            value,
            format!("exceeds maximum length of {MAX_RESOURCE_LABEL_LEN}"),
        ));
    }
    Ok(v.to_string())
}

/// Validate a DICOM AE title: trimmed, 1–16 printable ASCII characters other than backslash.
pub fn validate_ae_title(value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::invalid_id("AE title", value, "cannot be empty"));
    }
    if v.chars().count() > MAX_AE_TITLE_LEN {
        return Err(Error::invalid_id(
            "AE title",
            value,
            format!("exceeds maximum length of {MAX_AE_TITLE_LEN}"),
        ));
    }
    if !v
        .chars()
        .all(|c| matches!(c, '\x20'..='\x5b' | '\x5d'..='\x7e'))
    {
        return Err(Error::invalid_id(
            "AE title",
            value,
            "must contain only printable ASCII characters other than backslash",
        ));
    }
    Ok(v.to_string())
}

/// Validate a server URL: http or https, with a host and without credentials. Returns the trimmed
/// URL without trailing slashes (case preserved). A password in the URL is masked in the error.
pub fn validate_server_url(value: &str) -> Result<String> {
    let v = value.trim();
    let err = |reason: &str| Error::InvalidUrl {
        value: mask_userinfo(v),
        reason: reason.to_string(),
    };
    if v.is_empty() {
        return Err(err("cannot be empty"));
    }
    let Some((scheme, _)) = v.split_once("://") else {
        return Err(err("must include scheme (http:// or https://)"));
    };
    let scheme_ok = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    if !scheme_ok {
        return Err(err("must include scheme (http:// or https://)"));
    }
    let lower = scheme.to_ascii_lowercase();
    if lower != "http" && lower != "https" {
        return Err(err(&format!(
            "unsupported scheme '{scheme}' (use http or https)"
        )));
    }
    let parsed = match url::Url::parse(v) {
        Ok(u) => u,
        Err(url::ParseError::EmptyHost) => return Err(err("must include hostname")),
        Err(e) => return Err(err(&format!("not a valid URL ({e})"))),
    };
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(err("must include hostname"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(err(
            "must not include credentials; use a profile username and 'config set-password'",
        ));
    }
    Ok(v.trim_end_matches('/').to_string())
}

/// Parse an integer the way Python's `int()` treats the reference's inputs: surrounding whitespace
/// is ignored and a decimal number is truncated towards zero.
fn parse_int(value: &str) -> Option<i64> {
    let v = value.trim();
    if let Ok(n) = v.parse::<i64>() {
        return Some(n);
    }
    let f = v.parse::<f64>().ok()?;
    (f.is_finite() && f.abs() < 9.0e15).then(|| f.trunc() as i64)
}

/// Validate a TCP port: an integer from 1 to 65535.
pub fn validate_port(value: &str) -> Result<u16> {
    let err = |reason: &str| Error::InvalidPort {
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let n = parse_int(value).ok_or_else(|| err("must be an integer"))?;
    if !(1..=65_535).contains(&n) {
        return Err(err("must be between 1 and 65535"));
    }
    Ok(n as u16)
}

/// Validate a timeout in seconds: absent means 21600; otherwise an integer from 1 to 2 592 000.
pub fn validate_timeout(value: Option<&str>) -> Result<u64> {
    let Some(value) = value else {
        return Ok(DEFAULT_TIMEOUT_SECS);
    };
    let err = |reason: String| Error::InvalidInput(format!("invalid timeout: {value} - {reason}"));
    let n = parse_int(value).ok_or_else(|| err("must be an integer".into()))?;
    if n < 1 || n as u64 > MAX_TIMEOUT_SECS {
        return Err(err(format!(
            "must be between 1 and {MAX_TIMEOUT_SECS} seconds"
        )));
    }
    Ok(n as u64)
}

/// Validate a worker count: absent means 4; otherwise an integer from 1 to 100.
pub fn validate_workers(value: Option<&str>) -> Result<usize> {
    let Some(value) = value else {
        return Ok(DEFAULT_WORKERS);
    };
    let err = |reason: String| Error::InvalidInput(format!("invalid workers: {value} - {reason}"));
    let n = parse_int(value).ok_or_else(|| err("must be an integer".into()))?;
    if n < 1 || n as usize > MAX_WORKERS {
        return Err(err(format!("must be between 1 and {MAX_WORKERS}")));
    }
    Ok(n as usize)
}

/// Validate a scan selection: `*` means every scan (`None`); otherwise a comma list of scan IDs
/// (empty parts skipped) with at least one ID.
pub fn validate_scan_ids_input(value: &str) -> Result<Option<Vec<String>>> {
    let v = value.trim();
    if v == "*" {
        return Ok(None);
    }
    let ids = v
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(validate_scan_id)
        .collect::<Result<Vec<_>>>()?;
    if ids.is_empty() {
        return Err(Error::invalid_id(
            "scan",
            value,
            "no valid scan IDs provided",
        ));
    }
    Ok(Some(ids))
}

/// Validate a comma list of project IDs (empty parts skipped) with at least one ID.
pub fn validate_project_list(value: &str) -> Result<Vec<String>> {
    let ids = value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(validate_project_id)
        .collect::<Result<Vec<_>>>()?;
    if ids.is_empty() {
        return Err(Error::invalid_id(
            "project",
            value,
            "no valid project IDs provided",
        ));
    }
    Ok(ids)
}

/// Validate and compile a regular expression (non-empty, must compile).
pub fn validate_regex_pattern(value: &str) -> Result<Regex> {
    if value.is_empty() {
        return Err(Error::InvalidInput(
            "invalid regex pattern: '' - cannot be empty".into(),
        ));
    }
    Regex::new(value).map_err(|e| {
        let reason = e
            .to_string()
            .lines()
            .map(str::trim)
            .rfind(|l| l.starts_with("error:"))
            .map(|l| l.trim_start_matches("error:").trim().to_string())
            .unwrap_or_else(|| "does not compile".into());
        Error::InvalidInput(format!("invalid regex pattern: {value} - {reason}"))
    })
}

const RESERVED_DEVICE_NAMES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "COM¹", "COM²", "COM³", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8",
    "LPT9", "LPT¹", "LPT²", "LPT³",
];

/// Validate a name used as one local file or directory name, so that a server-supplied label can
/// never escape the target directory or produce a name Windows cannot create.
pub fn validate_local_path_component(value: &str) -> Result<String> {
    let err = |reason: &str| Error::InvalidPath {
        value: value.to_string(),
        reason: reason.to_string(),
    };
    if value.trim().is_empty() {
        return Err(err("cannot be empty"));
    }
    if value.chars().any(|c| c < '\x20') {
        return Err(err("cannot contain control characters"));
    }
    if value.contains(['/', '\\']) {
        return Err(err("cannot contain path separators"));
    }
    if value.contains(':') {
        return Err(err("cannot contain ':'"));
    }
    if value.contains(['<', '>', '"', '|', '?', '*']) {
        return Err(err("cannot contain any of < > \" | ? *"));
    }
    if value.chars().all(|c| c == '.') {
        return Err(err("cannot consist only of dots"));
    }
    if value.starts_with(['.', ' ']) || value.ends_with(['.', ' ']) {
        return Err(err("cannot start or end with a dot or a space"));
    }
    let stem = value.split('.').next().unwrap_or("").to_uppercase();
    if RESERVED_DEVICE_NAMES.contains(&stem.as_str()) {
        return Err(err("is a reserved device name on Windows"));
    }
    if value.nfc().collect::<String>() != value {
        return Err(err("must be NFC-normalised Unicode"));
    }
    Ok(value.to_string())
}

/// Validate a custom-variable (field) name: `[A-Za-z0-9_.-]+`.
pub fn validate_custom_field_name(value: &str) -> Result<String> {
    if !field_name_re().is_match(value) {
        let reason = if value.is_empty() {
            "cannot be empty"
        } else {
            "must contain only letters, digits, '_', '.' and '-'"
        };
        return Err(Error::invalid_id("field name", value, reason));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
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
}
