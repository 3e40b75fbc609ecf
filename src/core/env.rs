//! Names of the environment variables xnatctl reads, kept in one place so they are easy to audit
//! and never misspelled in one of several call sites.

/// Server URL; replaces the `default` profile when set.
pub const XNAT_URL: &str = "XNAT_URL";
/// User name; wins over the profile's `username`.
pub const XNAT_USER: &str = "XNAT_USER";
/// Password; wins over the profile's password (inline or keyring).
pub const XNAT_PASS: &str = "XNAT_PASS";
/// A JSESSIONID to use; wins over the cached session.
pub const XNAT_TOKEN: &str = "XNAT_TOKEN";
/// Alias of an XNAT alias token; with `XNAT_SECRET`, logs in as the token's owner (CI).
pub const XNAT_ALIAS: &str = "XNAT_ALIAS";
/// Secret of the alias token named by `XNAT_ALIAS`.
pub const XNAT_SECRET: &str = "XNAT_SECRET";
/// Where `auth token issue` keeps a token's secret: `keyring` or `file` (default: the OS
/// keyring, else the 0600 token file with a warning).
pub const XNATCTL_TOKEN_STORE: &str = "XNATCTL_TOKEN_STORE";
/// Renew a stored alias token when less than this much of its life is left (`12h`, `3d`,
/// seconds); overrides the margin stored with the token.
pub const XNATCTL_TOKEN_RENEW_BEFORE: &str = "XNATCTL_TOKEN_RENEW_BEFORE";
/// Profile to use; overrides `default_profile` and is the env source of `--profile`.
pub const XNAT_PROFILE: &str = "XNAT_PROFILE";
/// TLS verification for the `XNAT_URL` profile (`true/false/1/0/yes/no`).
pub const XNAT_VERIFY_SSL: &str = "XNAT_VERIFY_SSL";
/// Read/write timeout in seconds for the `XNAT_URL` profile.
pub const XNAT_TIMEOUT: &str = "XNAT_TIMEOUT";
/// Disables the update notice.
pub const XNAT_NO_UPDATE_CHECK: &str = "XNAT_NO_UPDATE_CHECK";
/// Path of the config file, instead of `$XDG_CONFIG_HOME/xnatctl/config.yaml`.
pub const XNATCTL_CONFIG: &str = "XNATCTL_CONFIG";
/// Base directory for user configuration (XDG); `~/.config` when unset.
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// Path of the JSON-lines diagnostics log (same as `--log-file`).
pub const XNATCTL_LOG_FILE: &str = "XNATCTL_LOG_FILE";
/// Turns on debug logging when set to anything but `""/0/false/no/off`.
pub const XNATCTL_DEBUG: &str = "XNATCTL_DEBUG";
/// Test knob: when `1`, every retry delay is zero so tests of retry paths run instantly.
pub const XNATCTL_RETRY_NO_DELAY: &str = "XNATCTL_RETRY_NO_DELAY";
/// Test knob: milliseconds between history polls while `session normalize-labels` waits on a
/// rename (the reference waits 5 s and 30 s; a simulator completes renames at once).
pub const XNATCTL_RENAME_POLL_MS: &str = "XNATCTL_RENAME_POLL_MS";
/// Test knob: every `--wait`/`--follow`/`--watch` poll delay becomes this many milliseconds
/// (the reference polls every 5 or 30 s; tests cannot wait that long).
pub const XNATCTL_POLL_MS: &str = "XNATCTL_POLL_MS";
/// Disables colour and styling when non-empty.
pub const NO_COLOR: &str = "NO_COLOR";
/// `CLICOLOR=0` disables colour and styling.
pub const CLICOLOR: &str = "CLICOLOR";
/// Disables the update notice when non-empty.
pub const NO_UPDATE_NOTIFIER: &str = "NO_UPDATE_NOTIFIER";
/// Set by CI systems; disables the update notice when non-empty.
pub const CI: &str = "CI";

/// True when the variable `name` is set to a value that reads as "on" (`1`, `true`, `yes`, `on`).
pub fn flag(name: &str) -> bool {
    std::env::var(name)
        .map(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
        .unwrap_or(false)
}

/// `session upload-dicom`: the receiver's host.
pub const XNAT_DICOM_HOST: &str = "XNAT_DICOM_HOST";
/// `session upload-dicom`: the receiver's port (default 104).
pub const XNAT_DICOM_PORT: &str = "XNAT_DICOM_PORT";
/// `session upload-dicom`: the receiver's AE title.
pub const XNAT_DICOM_CALLED_AET: &str = "XNAT_DICOM_CALLED_AET";
/// `session upload-dicom`: our AE title (default `XNATCTL`).
pub const XNAT_DICOM_CALLING_AET: &str = "XNAT_DICOM_CALLING_AET";
/// `session upload-dicom`: use TLS when set to a true value.
pub const XNAT_DICOM_TLS: &str = "XNAT_DICOM_TLS";
/// `session upload-dicom`: CA bundle for TLS.
pub const XNAT_DICOM_TLS_CA_BUNDLE: &str = "XNAT_DICOM_TLS_CA_BUNDLE";
/// `session upload-dicom`: client certificate for TLS.
pub const XNAT_DICOM_TLS_CERT: &str = "XNAT_DICOM_TLS_CERT";
/// `session upload-dicom`: client key for TLS.
pub const XNAT_DICOM_TLS_KEY: &str = "XNAT_DICOM_TLS_KEY";

/// The remote XNAT password for `xsync refresh-credentials` (after `--remote-pass-stdin`).
pub const XNAT_XSYNC_REMOTE_PASS: &str = "XNAT_XSYNC_REMOTE_PASS";
