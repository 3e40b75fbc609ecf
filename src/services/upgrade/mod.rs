//! `xnatctl upgrade`: find the release to install, download this target's archive, check its
//! SHA-256, make sure the new binary runs, and swap it in atomically (the old binary stays in
//! place until then, so any failure leaves it untouched).

pub mod install;
pub mod release;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::core::client::{ClientOptions, XnatClient};
use crate::core::output::Item;
use crate::core::progress::NoProgress;
use crate::core::{Error, Result};
pub use install::{InstallMethod, Installation};
pub use release::{Release, Releases};

/// This build's version.
pub const CURRENT_VERSION: &str = env!("CARGO_PKG_VERSION");
/// This build's target triple.
pub const TARGET: &str = env!("XNATCTL_TARGET");

/// What `upgrade --check` reports, and what an upgrade is about to do.
#[derive(Debug, Clone, Serialize)]
pub struct UpgradeCheck {
    /// The running version.
    pub current_version: String,
    /// The newest release (or the one asked for with `--version`).
    pub latest_version: String,
    /// True when `latest_version` is newer than the running one.
    pub update_available: bool,
    /// This build's target triple.
    pub target: String,
    /// The release archive for this target, when the release has one.
    pub archive: Option<String>,
    /// The binary that would be replaced.
    pub path: String,
    /// Who installed it.
    pub install_method: InstallMethod,
    /// The command to use instead, for managed installs.
    pub upgrade_command: Option<String>,
    /// The release page.
    pub release_url: Option<String>,
}

impl Item for UpgradeCheck {
    const ID: &'static str = "latest_version";
}

/// A finished upgrade.
#[derive(Debug, Clone, Serialize)]
pub struct Upgraded {
    /// The version that was running.
    pub previous_version: String,
    /// The version now installed.
    pub version: String,
    /// The replaced binary.
    pub path: String,
    /// The archive it came from.
    pub archive: String,
    /// The archive's verified SHA-256.
    pub sha256: String,
}

impl Item for Upgraded {
    const ID: &'static str = "version";
}

/// The release chosen and what replacing the binary involves.
pub struct Plan {
    /// The report.
    pub check: UpgradeCheck,
    /// The release chosen.
    pub release: Release,
    /// Its version.
    pub version: semver::Version,
}

/// The running binary's real path.
pub fn current_exe() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| Error::io("finding the running binary", e))?;
    std::fs::canonicalize(&exe).map_err(|e| Error::io(format!("resolving {}", exe.display()), e))
}

/// `$CARGO_HOME`, else `~/.cargo`.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".cargo")))
}

/// Ask the release API which release to install (`requested`, else the newest) and describe it.
pub async fn plan(
    releases: &Releases,
    requested: Option<&semver::Version>,
    installation: Installation,
) -> Result<Plan> {
    let release = match requested {
        Some(v) => releases.tagged(v).await?,
        None => releases.latest().await?,
    };
    let version = release.version()?;
    let current = release::parse_version(CURRENT_VERSION)?;
    let check = UpgradeCheck {
        current_version: CURRENT_VERSION.to_string(),
        latest_version: version.to_string(),
        update_available: version > current,
        target: TARGET.to_string(),
        archive: release.assets_for(TARGET).map(|(a, _)| a.name.clone()),
        path: installation.path.display().to_string(),
        install_method: installation.method,
        upgrade_command: installation.upgrade_command,
        release_url: release.html_url.clone(),
    };
    Ok(Plan {
        check,
        release,
        version,
    })
}

/// Download, verify and swap in the planned release over the binary at `exe`.
pub async fn install(plan: &Plan, exe: &Path) -> Result<Upgraded> {
    let (archive, sidecar) = plan.release.assets_for(TARGET).ok_or_else(|| {
        Error::not_found(
            "release archive",
            format!("xnatctl {} for {TARGET}", plan.version),
        )
    })?;
    let dir = exe
        .parent()
        .ok_or_else(|| Error::Operation(format!("{} has no directory", exe.display())))?;
    // Everything is staged next to the binary, so the final rename stays on one file system;
    // the directory removes itself on any failure or interruption.
    let staging = tempfile::Builder::new()
        .prefix(".xnatctl-upgrade-")
        .tempdir_in(dir)
        .map_err(|e| writable_error(dir, e))?;

    let expected = expected_sha256(&plan.release, archive, sidecar, staging.path()).await?;
    let archive_path = staging.path().join(&archive.name);
    download(&archive.browser_download_url, &archive_path).await?;
    let actual = sha256_of(&archive_path)?;
    if actual != expected {
        return Err(Error::Verification(format!(
            "{}: SHA-256 {actual} does not match the published {expected}; {} was not changed",
            archive.name,
            exe.display()
        )));
    }

    let candidate = staging.path().join(binary_name());
    extract_binary(&archive_path, &candidate)?;
    check_runs(&candidate, &plan.version)?;
    self_replace::self_replace(&candidate).map_err(|e| {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            writable_error(dir, e)
        } else {
            Error::io(format!("replacing {}", exe.display()), e)
        }
    })?;
    Ok(Upgraded {
        previous_version: CURRENT_VERSION.to_string(),
        version: plan.version.to_string(),
        path: exe.display().to_string(),
        archive: archive.name.clone(),
        sha256: actual,
    })
}

fn binary_name() -> &'static str {
    if cfg!(windows) {
        "xnatctl.exe"
    } else {
        "xnatctl"
    }
}

fn writable_error(dir: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        Error::PermissionDenied(format!(
            "cannot write to {}: run the upgrade as the binary's owner, or reinstall it somewhere you own",
            dir.display()
        ))
    } else {
        Error::io(format!("staging the upgrade in {}", dir.display()), e)
    }
}

/// The published digest: the archive's `.sha256` sidecar, else the release's `sha256.sum`.
async fn expected_sha256(
    release: &Release,
    archive: &release::Asset,
    sidecar: Option<&release::Asset>,
    staging: &Path,
) -> Result<String> {
    let (asset, name) = match sidecar {
        Some(s) => (s, None),
        None => match release.assets.iter().find(|a| a.name == "sha256.sum") {
            Some(sums) => (sums, Some(archive.name.as_str())),
            None => {
                return Err(Error::Verification(format!(
                    "release {} publishes no SHA-256 for {}; refusing an unverified binary",
                    release.tag_name, archive.name
                )))
            }
        },
    };
    let path = staging.join(&asset.name);
    download(&asset.browser_download_url, &path).await?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::io(format!("reading {}", asset.name), e))?;
    parse_sha256(&text, name).ok_or_else(|| {
        Error::Verification(format!(
            "{} holds no SHA-256 for {}",
            asset.name, archive.name
        ))
    })
}

/// The digest in a `sha256sum`-style text: the first token of the first line, or of the line
/// naming `file` (`<hex>  name` or `<hex> *name`).
fn parse_sha256(text: &str, file: Option<&str>) -> Option<String> {
    let line = match file {
        None => text.lines().find(|l| !l.trim().is_empty())?,
        Some(f) => text.lines().find(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|n| n.trim_start_matches('*') == f)
        })?,
    };
    let hex = line.split_whitespace().next()?.to_ascii_lowercase();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// Download an absolute URL to `dest` (redirects followed; nothing under `dest` unless whole).
async fn download(url: &str, dest: &Path) -> Result<()> {
    let parsed = url::Url::parse(url).map_err(|e| Error::InvalidUrl {
        value: url.to_string(),
        reason: e.to_string(),
    })?;
    let origin = parsed.origin().ascii_serialization();
    let mut path = parsed.path().to_string();
    if let Some(q) = parsed.query() {
        path = format!("{path}?{q}");
    }
    let mut opts = ClientOptions::new(origin);
    opts.timeout = Duration::from_secs(60);
    XnatClient::new(opts)?
        .download_to_file(&path, &[], dest, &NoProgress)
        .await?;
    Ok(())
}

fn sha256_of(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Copy the `xnatctl` executable out of a `.tar.gz` or `.zip` release archive (at its root or
/// in the archive's one top folder) to `dest`, executable.
fn extract_binary(archive: &Path, dest: &Path) -> Result<()> {
    let name = binary_name();
    let open = || {
        std::fs::File::open(archive)
            .map_err(|e| Error::io(format!("reading {}", archive.display()), e))
    };
    let bad = |why: String| Error::Operation(format!("{}: {why}", archive.display()));
    let shallow =
        |p: &Path| p.file_name().is_some_and(|n| n == name) && p.components().count() <= 2;
    let mut out = std::fs::File::create(dest)
        .map_err(|e| Error::io(format!("writing {}", dest.display()), e))?;
    let copied = if archive.extension().is_some_and(|e| e == "zip") {
        let mut zip = zip::ZipArchive::new(open()?).map_err(|e| bad(e.to_string()))?;
        let index = (0..zip.len()).find(|i| {
            zip.by_index(*i)
                .ok()
                .and_then(|f| f.enclosed_name())
                .is_some_and(|p| shallow(&p))
        });
        match index {
            Some(i) => {
                let mut entry = zip.by_index(i).map_err(|e| bad(e.to_string()))?;
                std::io::copy(&mut entry, &mut out).map_err(|e| bad(e.to_string()))?;
                true
            }
            None => false,
        }
    } else {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(open()?));
        let mut found = false;
        for entry in tar.entries().map_err(|e| bad(e.to_string()))? {
            let mut entry = entry.map_err(|e| bad(e.to_string()))?;
            let path = entry.path().map_err(|e| bad(e.to_string()))?.into_owned();
            if entry.header().entry_type().is_file() && shallow(&path) {
                std::io::copy(&mut entry, &mut out).map_err(|e| bad(e.to_string()))?;
                found = true;
                break;
            }
        }
        found
    };
    if !copied {
        return Err(bad(format!("no {name} inside")));
    }
    out.sync_all()
        .map_err(|e| Error::io(format!("writing {}", dest.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(format!("making {} executable", dest.display()), e))?;
    }
    Ok(())
}

/// Run the new binary's `--version` (10 s at most): it must run here and be the version the
/// release says, or nothing is replaced.
fn check_runs(candidate: &Path, version: &semver::Version) -> Result<()> {
    let refuse = |why: String| {
        Error::Verification(format!(
            "the downloaded xnatctl {version} {why}; nothing was replaced"
        ))
    };
    let mut child = std::process::Command::new(candidate)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| refuse(format!("does not start on this machine ({e})")))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => {
                let _ = child.kill();
                return Err(refuse("did not answer --version within 10 s".into()));
            }
        }
    }
    let mut said = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut said);
    }
    let reported = said.split_whitespace().nth(1).unwrap_or("");
    if said.starts_with("xnatctl ")
        && release::parse_version(reported).ok().as_ref() == Some(version)
    {
        Ok(())
    } else {
        Err(refuse(format!("answered --version with {:?}", said.trim())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_files_in_both_layouts() {
        let h = "a".repeat(64);
        assert_eq!(
            parse_sha256(&format!("{h}  x.tar.gz\n"), None),
            Some(h.clone())
        );
        let sums = format!("{}  other.zip\n{h} *x.tar.gz\n", "b".repeat(64));
        assert_eq!(parse_sha256(&sums, Some("x.tar.gz")), Some(h));
        assert_eq!(parse_sha256("nothex  x.tar.gz", None), None);
        assert_eq!(parse_sha256(&sums, Some("missing.tar.gz")), None);
    }
}
