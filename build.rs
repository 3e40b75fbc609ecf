//! Build-time facts for `xnatctl version`: the target triple (which release archive `upgrade`
//! fetches), the commit and the build date.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=XNATCTL_TARGET={target}");

    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let manifest = Path::new(&manifest);
    // Only this repository's own commit: a crate unpacked inside some other checkout has none.
    let own_repo = git(manifest, &["rev-parse", "--show-toplevel"])
        .map(|top| Path::new(&top).canonicalize().ok() == manifest.canonicalize().ok())
        .unwrap_or(false);
    let commit = own_repo
        .then(|| git(manifest, &["rev-parse", "--short=9", "HEAD"]))
        .flatten()
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=XNATCTL_COMMIT={commit}");
    if own_repo {
        // Re-run when HEAD moves: the branch pointer (loose or packed) and HEAD itself. Only
        // files that exist are named; a missing one would make cargo re-run this every build.
        let mut watched = vec![git(manifest, &["rev-parse", "--git-path", "HEAD"])];
        if let Some(head_ref) = git(manifest, &["symbolic-ref", "-q", "HEAD"]) {
            watched.push(git(manifest, &["rev-parse", "--git-path", &head_ref]));
        }
        watched.push(git(manifest, &["rev-parse", "--git-path", "packed-refs"]));
        for path in watched.into_iter().flatten() {
            let path = manifest.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }

    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=XNATCTL_RUSTC={rustc_version}");

    // Reproducible builds set SOURCE_DATE_EPOCH; otherwise the day this build script ran.
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    println!("cargo:rustc-env=XNATCTL_BUILD_DATE={y:04}-{m:02}-{d:02}");
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
