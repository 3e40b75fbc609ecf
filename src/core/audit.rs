//! The audit log: one JSON line per destructive command (including dry runs and failures), so
//! that a user can later see what was changed, where, by whom. Secrets never reach it.
//!
//! The file is `<config_dir>/audit.log`, mode 0600, rotated to `audit.log.1` at 10 MiB.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::error::{Error, Result};
use crate::core::fsutil;
use crate::core::redact::{redact, MASK};

/// Size at which the audit log (and the diagnostics log) is rotated.
pub const ROTATE_BYTES: u64 = 10 * 1024 * 1024;
/// File name of the audit log inside the config directory.
pub const AUDIT_FILE: &str = "audit.log";

/// Parameters that are never worth recording: global flags and the confirmation switches.
const SKIPPED_DETAILS: &[&str] = &[
    "yes",
    "dry_run",
    "output_format",
    "output",
    "quiet",
    "verbose",
    "profile",
    "no_color",
    "no_headers",
    "log_file",
];

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// When the command ran (UTC, RFC 3339).
    pub timestamp: String,
    /// What was done (`scan delete`).
    pub operation: String,
    /// Whether it succeeded.
    pub success: bool,
    /// The command as typed (`xnatctl scan delete`).
    pub command: String,
    /// Profile in use.
    pub profile: Option<String>,
    /// Server URL.
    pub server: Option<String>,
    /// User name.
    pub user: Option<String>,
    /// Project acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Subject acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Session acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The error, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// True for a preview that changed nothing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// Other parameters. Secret-shaped keys and `value` are masked, empty values and global
    /// flags dropped, when the record is written.
    pub details: Map<String, Value>,
}

impl AuditRecord {
    /// A record for `operation` (e.g. `scan delete`) stamped now, not yet successful.
    pub fn new(operation: impl Into<String>) -> Self {
        let operation = operation.into();
        let command = if operation.starts_with("xnatctl") {
            operation.clone()
        } else {
            format!("xnatctl {operation}")
        };
        AuditRecord {
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
            operation,
            success: false,
            command,
            profile: None,
            server: None,
            user: None,
            project: None,
            subject: None,
            session: None,
            error: None,
            dry_run: false,
            details: Map::new(),
        }
    }

    /// Add a parameter to `details`.
    pub fn detail(&mut self, key: impl Into<String>, value: Value) -> &mut Self {
        self.details.insert(key.into(), value);
        self
    }

    /// The record as it is written: details filtered and masked, strings redacted.
    pub fn sanitized(&self) -> AuditRecord {
        let mut r = self.clone();
        r.server = r.server.as_deref().map(redact);
        r.error = r.error.as_deref().map(redact);
        let mut details = Map::new();
        for (k, v) in &self.details {
            let lower = k.to_ascii_lowercase();
            if SKIPPED_DETAILS.contains(&lower.as_str()) || is_empty(v) {
                continue;
            }
            let v = if lower == "value" || is_secret_name(&lower) {
                Value::String(MASK.into())
            } else {
                redact_value(v)
            };
            details.insert(k.clone(), v);
        }
        r.details = details;
        r
    }
}

/// True for parameter names that can carry a credential (the one rule in `core::redact`).
pub fn is_secret_name(name: &str) -> bool {
    crate::core::redact::is_secret_name(name)
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn redact_value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(redact(s)),
        Value::Array(a) => Value::Array(a.iter().map(redact_value).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let v = if is_secret_name(k) {
                        Value::String(MASK.into())
                    } else {
                        redact_value(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Open `path` for appending, creating it with mode 0600 (an existing file is chmodded to 0600).
pub(crate) fn open_private_append(path: &Path) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    Ok(file)
}

/// The rotated name of a log file (`audit.log` → `audit.log.1`).
pub(crate) fn rotated_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

/// Rotate `path` to `<path>.1` when adding `incoming` bytes would pass [`ROTATE_BYTES`].
pub(crate) fn rotate_if_needed(path: &Path, incoming: u64) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > 0 && m.len() + incoming > ROTATE_BYTES => {
            std::fs::rename(path, rotated_path(path))
        }
        _ => Ok(()),
    }
}

/// Append `record` to `<config_dir>/audit.log`. The caller only warns on failure.
pub fn write(config_dir: &Path, record: &AuditRecord) -> Result<()> {
    let path = config_dir.join(AUDIT_FILE);
    let ctx = || format!("writing the audit log {}", path.display());
    fsutil::create_private_dir(config_dir)?;
    let mut line = serde_json::to_string(&record.sanitized())
        .map_err(|e| Error::io(ctx(), std::io::Error::other(e)))?;
    line.push('\n');
    rotate_if_needed(&path, line.len() as u64).map_err(|e| Error::io(ctx(), e))?;
    let mut file = open_private_append(&path).map_err(|e| Error::io(ctx(), e))?;
    file.write_all(line.as_bytes())
        .map_err(|e| Error::io(ctx(), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_a_masked_json_line_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let cfg_dir = dir.path().join("cfg");
        let mut r = AuditRecord::new("scan delete");
        r.success = true;
        r.profile = Some("default".into());
        r.server = Some("https://u:pw@xnat.org".into());
        r.session = Some("XNAT_E00001".into());
        r.dry_run = true;
        r.detail("scans", json!(["1", "2"]))
            .detail("dest_pass", json!("hunter2"))
            .detail("value", json!("field-value"))
            .detail("password", json!("pw"))
            .detail("yes", json!(true))
            .detail("quiet", json!(false))
            .detail("note", json!(""))
            .detail("url", json!("https://h/x?token=abc"))
            .detail("confirmed", json!(true));
        write(&cfg_dir, &r).unwrap();
        write(&cfg_dir, &AuditRecord::new("project create")).unwrap();
        let text = std::fs::read_to_string(cfg_dir.join(AUDIT_FILE)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["operation"], "scan delete");
        assert_eq!(v["command"], "xnatctl scan delete");
        assert_eq!(v["server"], "https://u:***@xnat.org");
        assert_eq!(v["dry_run"], true);
        assert_eq!(
            v["details"],
            json!({"scans": ["1", "2"], "dest_pass": "***", "value": "***", "password": "***",
                   "url": "https://h/x?token=***", "confirmed": true})
        );
        assert!(!text.contains("hunter2") && !text.contains("field-value"));
        let second: Value = serde_json::from_str(lines[1]).unwrap();
        assert!(second.get("dry_run").is_none() && second.get("project").is_none());
        assert_eq!(second["success"], false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(cfg_dir.join(AUDIT_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn rotates_at_the_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(AUDIT_FILE);
        std::fs::write(&path, vec![b'x'; ROTATE_BYTES as usize]).unwrap();
        write(dir.path(), &AuditRecord::new("x")).unwrap();
        assert_eq!(
            std::fs::metadata(rotated_path(&path)).unwrap().len(),
            ROTATE_BYTES
        );
        assert!(std::fs::read_to_string(&path).unwrap().starts_with('{'));
    }

    #[test]
    fn unwritable_dir_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert!(write(&file.join("sub"), &AuditRecord::new("x")).is_err());
    }
}
