//! How this binary was installed, so `upgrade` replaces only binaries it owns and names the
//! right command for the others (cargo, Homebrew, Nix, the system's package manager).

use std::path::{Path, PathBuf};

use serde::Serialize;

/// Who owns the installed binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallMethod {
    /// A standalone binary (release archive or installer script): `upgrade` replaces it.
    Standalone,
    /// `cargo install`: cargo's own records would go stale if we replaced it.
    Cargo,
    /// Homebrew (macOS or Linuxbrew).
    Homebrew,
    /// The Nix store (read-only).
    Nix,
    /// A system directory managed by the distribution's package manager.
    System,
}

impl std::fmt::Display for InstallMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InstallMethod::Standalone => "standalone",
            InstallMethod::Cargo => "cargo",
            InstallMethod::Homebrew => "homebrew",
            InstallMethod::Nix => "nix",
            InstallMethod::System => "system",
        })
    }
}

/// The install method, and for managed installs the command to use instead.
#[derive(Debug, Clone, Serialize)]
pub struct Installation {
    /// The binary's real path (symlinks resolved).
    pub path: PathBuf,
    /// Who owns it.
    pub method: InstallMethod,
    /// For a managed install: the command that upgrades it.
    pub upgrade_command: Option<String>,
}

/// Classify the binary at `exe` (already canonical). `cargo_home` is `$CARGO_HOME` or
/// `~/.cargo`.
pub fn detect(exe: &Path, cargo_home: Option<&Path>) -> Installation {
    let text = exe.to_string_lossy();
    let (method, command) = if let Some(cmd) = cargo_home.and_then(|h| cargo_install(exe, h)) {
        (InstallMethod::Cargo, Some(cmd))
    } else if ["/Cellar/", "/homebrew/", "/linuxbrew/"]
        .iter()
        .any(|m| text.contains(m))
    {
        (
            InstallMethod::Homebrew,
            Some("brew upgrade xnatctl".to_string()),
        )
    } else if text.starts_with("/nix/store/") {
        (
            InstallMethod::Nix,
            Some("update the Nix profile or flake that provides xnatctl".to_string()),
        )
    } else if ["/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/"]
        .iter()
        .any(|d| text.starts_with(d))
    {
        (
            InstallMethod::System,
            Some("upgrade the xnatctl package with your system's package manager".to_string()),
        )
    } else {
        (InstallMethod::Standalone, None)
    };
    Installation {
        path: exe.to_path_buf(),
        method,
        upgrade_command: command,
    }
}

/// `cargo install` put `exe` there when it sits in `<cargo home>/bin` and cargo's install record
/// (`.crates2.json`, or the older `.crates.toml`) lists xnatctl: the command that reinstalls it
/// from the same source. A release installer that chose the same directory has no record there.
fn cargo_install(exe: &Path, cargo_home: &Path) -> Option<String> {
    let bin = std::fs::canonicalize(cargo_home.join("bin")).ok()?;
    if exe.parent()? != bin {
        return None;
    }
    let record = [".crates2.json", ".crates.toml"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(cargo_home.join(f)).ok())
        .find(|r| r.contains("\"xnatctl "))?;
    // Keys look like `xnatctl 0.1.0 (registry+https://...)`, `(git+URL#rev)` or `(path+file://P)`.
    let key = &record[record.find("\"xnatctl ")? + 1..];
    let source = key
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(s, _)| s)
        .unwrap_or("");
    Some(if let Some(git) = source.strip_prefix("git+") {
        let url = git.split(['#', '?']).next().unwrap_or(git);
        format!("cargo install --locked --force --git {url} xnatctl")
    } else if let Some(path) = source.strip_prefix("path+file://") {
        format!("cargo install --locked --force --path {path}")
    } else {
        "cargo install --locked --force xnatctl".to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_installs_are_named_with_their_command() {
        let brew = detect(
            Path::new("/opt/homebrew/Cellar/xnatctl/0.1.0/bin/xnatctl"),
            None,
        );
        assert_eq!(brew.method, InstallMethod::Homebrew);
        assert_eq!(
            brew.upgrade_command.as_deref(),
            Some("brew upgrade xnatctl")
        );
        assert_eq!(
            detect(Path::new("/nix/store/abc-xnatctl/bin/xnatctl"), None).method,
            InstallMethod::Nix
        );
        assert_eq!(
            detect(Path::new("/usr/bin/xnatctl"), None).method,
            InstallMethod::System
        );
        let mine = detect(Path::new("/home/a/.local/bin/xnatctl"), None);
        assert_eq!(mine.method, InstallMethod::Standalone);
        assert!(mine.upgrade_command.is_none());
    }

    #[test]
    fn cargo_installs_need_cargo_s_own_record() {
        let home = tempfile::tempdir().unwrap();
        let bin = home.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let exe = std::fs::canonicalize(&bin).unwrap().join("xnatctl");
        // A release installer may choose ~/.cargo/bin too: without cargo's record it is ours.
        assert_eq!(
            detect(&exe, Some(home.path())).method,
            InstallMethod::Standalone
        );
        std::fs::write(
            home.path().join(".crates2.json"),
            r#"{"installs":{"xnatctl 0.1.0 (git+https://github.com/o/xnatctl#abc)":{}}}"#,
        )
        .unwrap();
        let cargo = detect(&exe, Some(home.path()));
        assert_eq!(cargo.method, InstallMethod::Cargo);
        assert_eq!(
            cargo.upgrade_command.as_deref(),
            Some("cargo install --locked --force --git https://github.com/o/xnatctl xnatctl")
        );
    }
}
