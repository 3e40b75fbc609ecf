//! One typed error for the whole tool, so that every command maps failures to the same exit codes.
//!
//! The variants mirror the reference's exception hierarchy; [`Error::exit_code`] is the single place
//! where an error becomes a process exit status, and [`Error::hint`] supplies the `hint:` line.

use std::path::PathBuf;

/// Exit status of a successful run.
pub const EXIT_OK: i32 = 0;
/// Any failure without a more specific code.
pub const EXIT_GENERAL: i32 = 1;
/// Bad command-line usage.
pub const EXIT_USAGE: i32 = 2;
/// Authentication failed or the session expired.
pub const EXIT_AUTH: i32 = 3;
/// Network failure: unreachable server, timeout, retries exhausted.
pub const EXIT_NETWORK: i32 = 4;
/// The requested object does not exist (or is invisible to this user).
pub const EXIT_NOT_FOUND: i32 = 5;
/// The server refused the action for this user.
pub const EXIT_PERMISSION: i32 = 6;
/// The user cancelled (declined a prompt, pressed Ctrl-C).
pub const EXIT_CANCELLED: i32 = 7;
/// `upgrade --check` found a newer release (as `dnf check-update` reports available updates).
pub const EXIT_UPDATE_AVAILABLE: i32 = 100;

/// Convenience alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure xnatctl can report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- configuration -------------------------------------------------------------------
    /// The configuration is unreadable, inconsistent or cannot be saved.
    #[error("{0}")]
    Config(String),
    /// No profile is configured at all.
    #[error("no profiles configured; expected a config file at {}", path.display())]
    NoConfig {
        /// Where the config file was looked for.
        path: PathBuf,
    },
    /// The named profile does not exist.
    #[error("profile not found: {0}")]
    ProfileNotFound(String),

    // ---- input validation ----------------------------------------------------------------
    /// The command line itself is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// An identifier (project, subject, session, scan, label...) failed validation.
    #[error("invalid {kind}: {value} - {reason}")]
    InvalidIdentifier {
        /// What kind of identifier (`project`, `subject`, `scan`, ...).
        kind: String,
        /// The offending value as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A server URL failed validation (a password in it is masked).
    #[error("invalid URL: {value} - {reason}")]
    InvalidUrl {
        /// The URL, with any password masked.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A port number failed validation.
    #[error("invalid port: {value} - {reason}")]
    InvalidPort {
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A local path failed validation.
    #[error("invalid path: {value} - {reason}")]
    InvalidPath {
        /// The path as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// Any other invalid input that is not a command-line usage error.
    #[error("{0}")]
    InvalidInput(String),

    // ---- network -------------------------------------------------------------------------
    /// A transport failure that is not one of the more specific network errors.
    #[error("network error: {0}")]
    Network(String),
    /// The server could not be reached at all.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The base URL that was tried.
        url: String,
        /// The underlying cause.
        reason: String,
    },
    /// A request timed out.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Retryable failures continued until the retry budget ran out.
    #[error("{what} failed after {attempts} attempts: {last}")]
    RetryExhausted {
        /// What was being attempted (`GET /data/projects`).
        what: String,
        /// How many attempts were made in total.
        attempts: u32,
        /// The last failure seen.
        last: String,
    },

    // ---- authentication ------------------------------------------------------------------
    /// Logging in failed, or no credentials are available.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The server no longer accepts the session (HTTP 401).
    #[error("session expired or not authenticated for {0}")]
    SessionExpired(String),
    /// A stored or given alias token has expired or was revoked; `fix` is the command to run.
    #[error("{what}")]
    TokenExpired {
        /// What is wrong (which token, which server).
        what: String,
        /// The exact command (or step) that gets a working token again.
        fix: String,
    },
    /// The server refused the action (HTTP 403).
    #[error("permission denied: {0}")]
    PermissionDenied(String),

    // ---- server objects ------------------------------------------------------------------
    /// The object does not exist (HTTP 404 or an empty lookup).
    #[error("{kind} not found: {id}")]
    NotFound {
        /// What was looked for (`project`, `session`, `resource`...).
        kind: String,
        /// The identifier or path looked for.
        id: String,
    },
    /// The object already exists (HTTP 409 on create or share).
    #[error("{kind} already exists: {id}")]
    AlreadyExists {
        /// What was being created.
        kind: String,
        /// Its identifier.
        id: String,
    },
    /// Any other HTTP error status after retries (4xx other than 401/403/404, or a 5xx).
    #[error("HTTP {status} on {method} {path}{}", body_suffix(.body))]
    Http {
        /// The status code.
        status: u16,
        /// The request method.
        method: String,
        /// The request path without its query string.
        path: String,
        /// The start of the response body, redacted (may be empty).
        body: String,
    },

    // ---- operations ----------------------------------------------------------------------
    /// A multi-step operation failed.
    #[error("{0}")]
    Operation(String),
    /// An upload failed.
    #[error("upload failed: {0}")]
    Upload(String),
    /// A worker task of an upload (building an archive, hashing files) panicked or was dropped.
    #[error("upload failed: {what} task failed: {source}")]
    UploadTask {
        /// The task (`zip`, `archive`, `hashing`).
        what: &'static str,
        /// Why it ended.
        #[source]
        source: tokio::task::JoinError,
    },
    /// Writing an upload's zip archive failed.
    #[error("upload failed: zip: {source}")]
    UploadZip {
        /// The zip writer's error.
        #[source]
        source: zip::result::ZipError,
    },
    /// A download failed.
    #[error("download failed: {0}")]
    Download(String),
    /// A ZIP archive could not be read.
    #[error("{context}: {source}")]
    Zip {
        /// Which archive, and what was being done (`invalid ZIP file dl/x.zip`).
        context: String,
        /// The ZIP reader's error.
        #[source]
        source: zip::result::ZipError,
    },
    /// A response body broke off or could not be read after its status arrived.
    #[error("{context}: {source}")]
    Body {
        /// What was being read (`reading the response`).
        context: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// A value could not be turned into JSON (output, a request body).
    #[error("{context}: {source}")]
    Json {
        /// What was being serialised.
        context: &'static str,
        /// The serialiser's error.
        #[source]
        source: serde_json::Error,
    },
    /// Downloaded files did not match the server's digests.
    #[error("verification failed: {0}")]
    Verification(String),
    /// A batch ran to the end but some items failed.
    #[error("{failed} of {total} items failed")]
    Batch {
        /// How many items failed.
        failed: usize,
        /// How many items there were.
        total: usize,
    },
    /// A file could not be read as DICOM.
    #[error("DICOM error: {0}")]
    Dicom(String),
    /// A transfer target conflicts with existing data.
    #[error("transfer conflict: {0}")]
    TransferConflict(String),
    /// The user declined a prompt or interrupted the run.
    #[error("cancelled")]
    Cancelled,
    /// `upgrade --check` found a newer release; the report is already on stdout.
    #[error("xnatctl {latest} is available (running {current})")]
    UpdateAvailable {
        /// The running version.
        current: String,
        /// The newer release.
        latest: String,
    },
    /// A local file-system failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (`writing /tmp/x`).
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn body_suffix(body: &str) -> String {
    let first = if body.trim_start().starts_with('<') {
        html_message(body)
    } else {
        body.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
    };
    match first.as_deref() {
        Some(line) => format!(": {}", crate::core::error::snippet(line, 200)),
        None => String::new(),
    }
}

/// The message inside an HTML error page. XNAT's Restlet "Status page" puts it in `<h3>`, Tomcat's
/// report in `<h1>`; without either, the first line of text that is not the page title. A first
/// line of `<html>` told a user nothing.
fn html_message(body: &str) -> Option<String> {
    fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
        let lower = s.to_ascii_lowercase();
        let start = lower.find(open)? + open.len();
        let end = start + lower[start..].find(close)?;
        Some(&s[start..end])
    }
    fn strip_tags(s: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in s.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out
    }
    let title = between(body, "<title>", "</title>").map(|t| strip_tags(t).trim().to_string());
    for tag in [("<h3>", "</h3>"), ("<h1>", "</h1>")] {
        if let Some(inner) = between(body, tag.0, tag.1) {
            let text = strip_tags(inner).trim().to_string();
            if !text.is_empty() {
                return Some(text);
            }
        }
    }
    let text = strip_tags(body);
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && Some(*l) != title.as_deref())
        .map(str::to_string)
}

/// The hint under a 403: a project role for project data, an administrator for the site's APIs,
/// nothing for a local permission (a directory `upgrade` cannot write).
fn permission_hint(what: &str) -> Option<String> {
    let project_data = [
        "/data/projects",
        "/data/experiments",
        "/data/subjects",
        "/data/archive",
    ]
    .iter()
    .any(|p| what.contains(p));
    if project_data {
        Some("check your role in the project (owner, member or collaborator)".into())
    } else if what.contains("/xapi/") || what.contains("/data/") {
        Some("this needs a site administrator account (or the role the site grants for it)".into())
    } else {
        None
    }
}

/// Cut `text` to at most `max` characters, adding `…` when it was cut.
pub fn snippet(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max).collect();
        s.push('…');
        s
    }
}

impl Error {
    /// The process exit code for this error; the one place where that mapping lives.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            Error::Auth(_) | Error::SessionExpired(_) | Error::TokenExpired { .. } => EXIT_AUTH,
            Error::Network(_)
            | Error::Body { .. }
            | Error::Unreachable { .. }
            | Error::Timeout(_)
            | Error::RetryExhausted { .. } => EXIT_NETWORK,
            Error::NotFound { .. } => EXIT_NOT_FOUND,
            Error::PermissionDenied(_) => EXIT_PERMISSION,
            Error::Cancelled => EXIT_CANCELLED,
            Error::UpdateAvailable { .. } => EXIT_UPDATE_AVAILABLE,
            Error::Config(_)
            | Error::NoConfig { .. }
            | Error::ProfileNotFound(_)
            | Error::InvalidIdentifier { .. }
            | Error::InvalidUrl { .. }
            | Error::InvalidPort { .. }
            | Error::InvalidPath { .. }
            | Error::InvalidInput(_)
            | Error::AlreadyExists { .. }
            | Error::Http { .. }
            | Error::Operation(_)
            | Error::Upload(_)
            | Error::UploadTask { .. }
            | Error::UploadZip { .. }
            | Error::Download(_)
            | Error::Zip { .. }
            | Error::Json { .. }
            | Error::Verification(_)
            | Error::Batch { .. }
            | Error::Dicom(_)
            | Error::TransferConflict(_)
            | Error::Io { .. } => EXIT_GENERAL,
        }
    }

    /// A short suggestion shown as `hint: …` under the error, when there is a useful one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NoConfig { .. } => Some("run 'xnatctl config init' to create a profile".into()),
            Error::ProfileNotFound(_) => {
                Some("run 'xnatctl config show' to list profiles, or 'xnatctl config init'".into())
            }
            Error::Unreachable { .. } => {
                Some("check the server URL, your network or VPN, and that XNAT is running".into())
            }
            Error::Auth(_) => Some(
                "run 'xnatctl auth login', or set XNAT_USER and XNAT_PASS (or XNAT_TOKEN)".into(),
            ),
            Error::SessionExpired(_) => Some("run 'xnatctl auth login' to log in again".into()),
            Error::TokenExpired { fix, .. } => Some(fix.clone()),
            Error::PermissionDenied(what) => permission_hint(what),
            // Only subjects and sessions are looked up by label inside a project; for anything
            // else (a saved search, a scan, a resource, a bare path) this advice would mislead.
            Error::NotFound { kind, .. } if matches!(kind.as_str(), "subject" | "session") => {
                Some(
                    "a label is looked up within a project (-P/--project or default_project); \
                     XNAT also answers 'not found' for data you are not allowed to see"
                        .into(),
                )
            }
            Error::Http { status, method, .. }
                if *status >= 500 && method != "GET" && method != "PUT" && method != "DELETE" =>
            {
                Some("the request may have partially executed on the server; it was not retried automatically".into())
            }
            _ => None,
        }
    }

    /// Wrap an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Shorthand for a not-found error.
    pub fn not_found(kind: impl Into<String>, id: impl Into<String>) -> Self {
        Error::NotFound {
            kind: kind.into(),
            id: id.into(),
        }
    }

    /// Give a bare HTTP 404 (the client only knows the path) the name of what was asked for,
    /// so `subject list -P NOPE` says "project not found: NOPE" instead of printing a REST path.
    /// Any other error passes through unchanged.
    pub fn naming_not_found(self, kind: &str, id: &str) -> Self {
        match self {
            Error::NotFound { kind: k, id: path } if k == "resource" && path.starts_with('/') => {
                Error::not_found(kind, id)
            }
            other => other,
        }
    }

    /// Shorthand for a usage error.
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    /// Shorthand for an invalid identifier.
    pub fn invalid_id(
        kind: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidIdentifier {
            kind: kind.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests;
