//! The release API (GitHub's `releases` resource, or a mirror answering the same JSON) and the
//! choice of this target's archive and checksum among a release's assets.

use serde::Deserialize;

use crate::core::client::{ClientOptions, XnatClient};
use crate::core::{Error, Result};

/// Environment variable naming the release API base (tests, mirrors, forks).
pub const RELEASES_URL_ENV: &str = "XNATCTL_RELEASES_URL";
/// Where releases are published.
pub const DEFAULT_RELEASES_URL: &str = "https://api.github.com/repos/xnatctl/xnatctl";

/// One release as the API describes it (only what upgrading needs).
#[derive(Debug, Clone, Deserialize)]
pub struct Release {
    /// The version tag (`v0.2.0`).
    pub tag_name: String,
    /// The release page.
    #[serde(default)]
    pub html_url: Option<String>,
    /// Files attached to the release.
    #[serde(default)]
    pub assets: Vec<Asset>,
}

/// One file attached to a release.
#[derive(Debug, Clone, Deserialize)]
pub struct Asset {
    /// File name (`xnatctl-x86_64-unknown-linux-musl.tar.gz`).
    pub name: String,
    /// Where to download it (GitHub answers with a redirect to its storage; followed).
    pub browser_download_url: String,
}

impl Release {
    /// The tag as a semantic version (`v` prefix optional).
    pub fn version(&self) -> Result<semver::Version> {
        parse_version(&self.tag_name)
    }

    /// The archive for `target` and its `.sha256` sidecar, if the release has both.
    pub fn assets_for(&self, target: &str) -> Option<(&Asset, Option<&Asset>)> {
        candidate_targets(target).iter().find_map(|t| {
            let name = archive_name(t);
            let archive = self.assets.iter().find(|a| a.name == name)?;
            let sidecar = format!("{name}.sha256");
            Some((archive, self.assets.iter().find(|a| a.name == sidecar)))
        })
    }
}

/// Parse `v1.2.3` or `1.2.3` as a semantic version.
pub fn parse_version(text: &str) -> Result<semver::Version> {
    let bare = text.trim().trim_start_matches('v');
    semver::Version::parse(bare)
        .map_err(|e| Error::InvalidInput(format!("not a version: {text:?} ({e})")))
}

/// The archive name the release workflow gives `target` (dist's naming with `.tar.gz`/`.zip`).
pub fn archive_name(target: &str) -> String {
    if target.contains("windows") {
        format!("xnatctl-{target}.zip")
    } else {
        format!("xnatctl-{target}.tar.gz")
    }
}

/// Targets whose build runs here, best first: this build's own, then (on Linux) the static musl
/// build of the same architecture, which is what releases ship and which runs on any libc.
pub fn candidate_targets(target: &str) -> Vec<String> {
    let mut out = vec![target.to_string()];
    if let Some(arch) = target.strip_suffix("-unknown-linux-gnu") {
        out.push(format!("{arch}-unknown-linux-musl"));
    }
    out
}

/// A client of the release API at `base` (no credentials: releases are public).
pub struct Releases {
    client: XnatClient,
}

impl Releases {
    /// The API at `base` (`https://api.github.com/repos/OWNER/REPO` or a mirror).
    pub fn new(base: &str) -> Result<Self> {
        let mut opts = ClientOptions::new(base);
        opts.timeout = std::time::Duration::from_secs(30);
        Ok(Releases {
            client: XnatClient::new(opts)?,
        })
    }

    /// The newest published release (the API leaves drafts and pre-releases out).
    pub async fn latest(&self) -> Result<Release> {
        self.fetch("releases/latest")
            .await
            .map_err(|e| e.naming_not_found("release", "latest"))
    }

    /// The release of `version` (tag `vX.Y.Z`, or `X.Y.Z` as some projects tag).
    pub async fn tagged(&self, version: &semver::Version) -> Result<Release> {
        match self.fetch(&format!("releases/tags/v{version}")).await {
            Err(Error::NotFound { .. }) => self
                .fetch(&format!("releases/tags/{version}"))
                .await
                .map_err(|e| e.naming_not_found("release", &format!("v{version}"))),
            other => other,
        }
    }

    async fn fetch(&self, path: &str) -> Result<Release> {
        let resp = self
            .client
            .request(reqwest::Method::GET, path)
            .header("Accept", "application/vnd.github+json")
            .send()
            .await?;
        let body = resp.bytes().await.map_err(|source| Error::Body {
            context: format!("reading {path}"),
            source,
        })?;
        serde_json::from_slice(&body).map_err(|source| Error::Json {
            context: "reading the release description",
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(names: &[&str]) -> Release {
        Release {
            tag_name: "v0.3.0".into(),
            html_url: None,
            assets: names
                .iter()
                .map(|n| Asset {
                    name: n.to_string(),
                    browser_download_url: format!("https://example.org/{n}"),
                })
                .collect(),
        }
    }

    #[test]
    fn versions_compare_as_semver_not_as_text() {
        assert!(parse_version("v0.10.0").unwrap() > parse_version("0.9.9").unwrap());
        assert!(parse_version("1.0.0-rc.1").unwrap() < parse_version("1.0.0").unwrap());
        assert!(parse_version("latest").is_err());
    }

    #[test]
    fn a_gnu_build_takes_the_static_musl_archive() {
        let r = release(&[
            "xnatctl-x86_64-unknown-linux-musl.tar.gz",
            "xnatctl-x86_64-unknown-linux-musl.tar.gz.sha256",
            "xnatctl-x86_64-pc-windows-msvc.zip",
        ]);
        let (a, sum) = r.assets_for("x86_64-unknown-linux-gnu").unwrap();
        assert_eq!(a.name, "xnatctl-x86_64-unknown-linux-musl.tar.gz");
        assert_eq!(
            sum.unwrap().name,
            "xnatctl-x86_64-unknown-linux-musl.tar.gz.sha256"
        );
        let (w, none) = r.assets_for("x86_64-pc-windows-msvc").unwrap();
        assert_eq!(w.name, "xnatctl-x86_64-pc-windows-msvc.zip");
        assert!(none.is_none());
        assert!(r.assets_for("aarch64-apple-darwin").is_none());
    }
}
