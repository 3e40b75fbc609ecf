//! `upgrade` and `version`, end to end: a copy of the real binary upgrades itself from a local
//! fake release server (GitHub's release JSON, archives, `.sha256` sidecars).
#![cfg(unix)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// One canned answer of the fake release server.
struct Route {
    path: String,
    status: u16,
    body: Vec<u8>,
    /// Close the connection after this many body bytes (a reset mid-download).
    cut_at: Option<usize>,
}

/// A fake release host: answers `routes` by path, logs every request path.
struct Releases {
    origin: String,
    log: Arc<Mutex<Vec<String>>>,
    routes: Arc<Mutex<Vec<Route>>>,
}

impl Releases {
    fn serve() -> Releases {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = log.clone();
        let routes: Arc<Mutex<Vec<Route>>> = Arc::default();
        let table = routes.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
                seen.lock().unwrap().push(path.clone());
                let (status, body, cut) =
                    match table.lock().unwrap().iter().find(|r| r.path == path) {
                        Some(r) => (r.status, r.body.clone(), r.cut_at),
                        None => (404, b"{\"message\":\"Not Found\"}".to_vec(), None),
                    };
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body[..cut.unwrap_or(body.len())]);
                let _ = stream.flush();
            }
        });
        Releases {
            origin,
            log,
            routes,
        }
    }

    /// Publish `tag` with an archive for `target` whose sidecar claims `sum`.
    fn publish(&self, tag: &str, target: &str, archive: &[u8], sum: &str) {
        let name = format!("xnatctl-{target}.tar.gz");
        let origin = &self.origin;
        let asset =
            |n: &str| json!({"name": n, "browser_download_url": format!("{origin}/dl/{n}")});
        let doc = json!({
            "tag_name": tag,
            "html_url": format!("{origin}/releases/{tag}"),
            "assets": [asset(&name), asset(&format!("{name}.sha256"))],
        });
        let mut routes = self.routes.lock().unwrap();
        for path in [
            "/repos/o/xnatctl/releases/latest".to_string(),
            format!("/repos/o/xnatctl/releases/tags/{tag}"),
        ] {
            routes.push(Route {
                path,
                status: 200,
                body: doc.to_string().into_bytes(),
                cut_at: None,
            });
        }
        routes.push(Route {
            path: format!("/dl/{name}"),
            status: 200,
            body: archive.to_vec(),
            cut_at: None,
        });
        routes.push(Route {
            path: format!("/dl/{name}.sha256"),
            status: 200,
            body: format!("{sum}  {name}\n").into_bytes(),
            cut_at: None,
        });
    }

    /// Make the archive download stop after `n` bytes.
    fn cut_archive_at(&self, n: usize) {
        for r in self.routes.lock().unwrap().iter_mut() {
            if r.path.ends_with(".tar.gz") {
                r.cut_at = Some(n);
            }
        }
    }

    fn api(&self) -> String {
        format!("{}/repos/o/xnatctl", self.origin)
    }

    fn requested(&self, suffix: &str) -> bool {
        self.log.lock().unwrap().iter().any(|p| p.ends_with(suffix))
    }
}

/// A copy of the real binary in its own directory (never the one cargo built).
struct Installed {
    _dir: tempfile::TempDir,
    home: tempfile::TempDir,
    exe: PathBuf,
}

impl Installed {
    fn new() -> Installed {
        let dir = tempfile::tempdir().unwrap();
        Self::at(dir, "bin")
    }

    fn at(dir: tempfile::TempDir, sub: &str) -> Installed {
        let bin = dir.path().join(sub);
        std::fs::create_dir_all(&bin).unwrap();
        let exe = bin.join("xnatctl");
        std::fs::copy(assert_cmd::cargo::cargo_bin("xnatctl"), &exe).unwrap();
        Installed {
            _dir: dir,
            home: tempfile::tempdir().unwrap(),
            exe,
        }
    }

    fn cmd(&self, releases: &Releases, args: &[&str]) -> std::process::Output {
        std::process::Command::new(&self.exe)
            .args(args)
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("CARGO_HOME", self.home.path().join(".cargo"))
            .env("XNATCTL_RELEASES_URL", releases.api())
            .env("XNATCTL_RETRY_NO_DELAY", "1")
            .env("NO_COLOR", "1")
            .env_remove("XNAT_URL")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }

    fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.exe).unwrap()
    }

    fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.exe.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "xnatctl")
            .collect()
    }
}

fn target() -> String {
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("xnatctl"))
        .args(["version", "-o", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["target"].as_str().unwrap().to_string()
}

/// A release archive as the release workflow builds it: `xnatctl-<target>/xnatctl` in a
/// `.tar.gz`, where the "binary" is a script answering `--version` as `version`.
fn archive(target: &str, version: &str) -> Vec<u8> {
    let script = format!("#!/bin/sh\necho \"xnatctl {version}\"\n");
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_size(script.len() as u64);
    header.set_mode(0o755);
    header.set_cksum();
    tar.append_data(
        &mut header,
        format!("xnatctl-{target}/xnatctl"),
        script.as_bytes(),
    )
    .unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

const NEW: &str = "9.1.0";

fn newer_release() -> (Releases, Vec<u8>) {
    let t = target();
    let releases = Releases::serve();
    let bytes = archive(&t, NEW);
    releases.publish(
        &format!("v{NEW}"),
        &musl_or(&t),
        &bytes,
        &sha256_hex(&bytes),
    );
    (releases, bytes)
}

/// Releases ship static musl builds for Linux; a gnu build must pick those.
fn musl_or(target: &str) -> String {
    match target.strip_suffix("-unknown-linux-gnu") {
        Some(arch) => format!("{arch}-unknown-linux-musl"),
        None => target.to_string(),
    }
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_newer_release_is_downloaded_verified_and_swapped_in() {
    let (releases, bytes) = newer_release();
    let inst = Installed::new();
    let out = inst.cmd(&releases, &["upgrade", "--yes", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["previous_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["version"], NEW);
    assert_eq!(v["sha256"], sha256_hex(&bytes));
    // The file at the same path is now the new release, and nothing is left beside it.
    let now = std::process::Command::new(&inst.exe)
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&now.stdout).trim(),
        format!("xnatctl {NEW}")
    );
    assert_eq!(inst.leftovers(), Vec::<String>::new());
}

#[test]
fn a_checksum_mismatch_leaves_the_binary_untouched() {
    let t = target();
    let releases = Releases::serve();
    let bytes = archive(&t, NEW);
    releases.publish(&format!("v{NEW}"), &musl_or(&t), &bytes, &"0".repeat(64));
    let inst = Installed::new();
    let before = inst.bytes();
    let out = inst.cmd(&releases, &["upgrade", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("does not match the published"), "{err}");
    assert!(err.contains("was not changed"), "{err}");
    assert!(inst.bytes() == before, "the binary changed");
    assert_eq!(inst.leftovers(), Vec::<String>::new());
}

#[test]
fn an_interrupted_download_leaves_the_binary_untouched() {
    let (releases, bytes) = newer_release();
    releases.cut_archive_at(bytes.len() / 2);
    let inst = Installed::new();
    let before = inst.bytes();
    let out = inst.cmd(&releases, &["upgrade", "--yes"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(inst.bytes() == before, "the binary changed");
    assert_eq!(inst.leftovers(), Vec::<String>::new());
}

#[test]
fn already_current_reports_and_changes_nothing() {
    let t = target();
    let releases = Releases::serve();
    let bytes = archive(&t, env!("CARGO_PKG_VERSION"));
    let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    releases.publish(&tag, &musl_or(&t), &bytes, &sha256_hex(&bytes));
    let inst = Installed::new();
    let before = inst.bytes();
    let out = inst.cmd(&releases, &["upgrade", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("up to date ({})", env!("CARGO_PKG_VERSION"))));
    let out = inst.cmd(&releases, &["upgrade", "--check", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_of(&out)["update_available"], false);
    assert!(inst.bytes() == before);
    assert!(
        !releases.requested(".tar.gz"),
        "nothing is downloaded when current"
    );
}

#[test]
fn check_reports_a_newer_release_with_exit_100_and_downloads_nothing() {
    let (releases, _) = newer_release();
    let inst = Installed::new();
    let out = inst.cmd(&releases, &["upgrade", "--check", "-o", "json"]);
    assert_eq!(out.status.code(), Some(100), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["latest_version"], NEW);
    assert_eq!(v["update_available"], true);
    assert_eq!(v["install_method"], "standalone");
    assert_eq!(
        v["archive"],
        format!("xnatctl-{}.tar.gz", musl_or(&target()))
    );
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "current_version",
            "latest_version",
            "update_available",
            "target",
            "archive",
            "path",
            "install_method",
            "upgrade_command",
            "release_url"
        ]
    );
    assert!(!releases.requested(".tar.gz"));
    let quiet = inst.cmd(&releases, &["upgrade", "--check", "-q"]);
    assert_eq!(String::from_utf8_lossy(&quiet.stdout), format!("{NEW}\n"));
}

#[test]
fn no_archive_for_this_target_is_not_found() {
    let releases = Releases::serve();
    let bytes = archive("riscv64gc-unknown-linux-musl", NEW);
    releases.publish(
        &format!("v{NEW}"),
        "riscv64gc-unknown-linux-musl",
        &bytes,
        &sha256_hex(&bytes),
    );
    let inst = Installed::new();
    let out = inst.cmd(&releases, &["upgrade", "--yes"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("xnatctl {NEW} for {}", target())));
}

#[test]
fn a_cargo_install_is_refused_with_the_cargo_command() {
    let (releases, _) = newer_release();
    let dir = tempfile::tempdir().unwrap();
    let inst = Installed::at(dir, "cargo/bin");
    let cargo_home = inst.exe.parent().unwrap().parent().unwrap().to_path_buf();
    std::fs::write(
        cargo_home.join(".crates2.json"),
        r#"{"installs":{"xnatctl 0.1.0 (registry+https://github.com/rust-lang/crates.io-index)":{}}}"#,
    )
    .unwrap();
    let before = inst.bytes();
    let out = std::process::Command::new(&inst.exe)
        .args(["upgrade", "--yes"])
        .env("HOME", inst.home.path())
        .env("CARGO_HOME", &cargo_home)
        .env("XNATCTL_RELEASES_URL", releases.api())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out)
            .contains("managed by cargo: run `cargo install --locked --force xnatctl` instead"),
        "{}",
        stderr(&out)
    );
    assert!(inst.bytes() == before);
}

#[test]
fn without_a_terminal_it_needs_yes_and_dry_run_downloads_nothing() {
    let (releases, _) = newer_release();
    let inst = Installed::new();
    let out = inst.cmd(&releases, &["upgrade"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = inst.cmd(&releases, &["upgrade", "--dry-run", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_of(&out)["latest_version"], NEW);
    assert!(!releases.requested(".tar.gz"));
}

#[test]
fn version_reports_the_build() {
    let inst = Installed::new();
    let releases = Releases::serve();
    let out = inst.cmd(&releases, &["version", "-o", "json"]);
    let v = json_of(&out);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["version", "commit", "build_date", "target", "rustc"]);
    assert!(v["build_date"].as_str().unwrap().len() == 10);
}
