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
mod tests;
