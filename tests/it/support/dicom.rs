//! DICOM test inputs and external tools: generated files, pydicom's test corpus and dcmtk.
//!
//! Tools and corpora that `.ci/run` installs are required under `CI=true` (a missing one fails
//! the test loudly); elsewhere a test that needs one prints a notice and returns early.

use std::path::{Path, PathBuf};

use xnat_sim::dicom::{generate, DicomSpec};

/// Write `n` MR instances of one study (patient `PAT`, series 1) under `dir`; returns them.
pub fn write_study(dir: &Path, patient: &str, study: u32, n: u32) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    (1..=n)
        .map(|i| {
            let p = dir.join(format!("{patient}_{study}_{i:04}.dcm"));
            std::fs::write(&p, generate(&DicomSpec::mr(patient, study, 1, i))).unwrap();
            p
        })
        .collect()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// `name` on PATH (dcmtk's storescp, storescu, echoscu, dcmdump), or `None` with a notice when
/// not under CI. Under CI a missing tool is a test failure: `.ci/run` installs dcmtk.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !in_ci(),
            "{name} is missing: .ci/run installs dcmtk (apt-get install dcmtk)"
        );
        eprintln!("notice: {name} (dcmtk) is not installed; skipping this test");
    }
    found
}

/// pydicom's bundled test files (`XNATCTL_PYDICOM_TEST_FILES`, else an importable pydicom), or
/// `None` with a notice when not under CI.
pub fn pydicom_test_files() -> Option<PathBuf> {
    let from_env = std::env::var_os("XNATCTL_PYDICOM_TEST_FILES").map(PathBuf::from);
    let found = from_env.or_else(|| {
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import pydicom, os; print(os.path.dirname(pydicom.__file__))",
            ])
            .output()
            .ok()?;
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !dir.is_empty())
            .then(|| PathBuf::from(dir).join("data").join("test_files"))
    });
    let found = found.filter(|p| p.is_dir());
    if found.is_none() {
        assert!(
            !in_ci(),
            "pydicom's test files are missing: .ci/run installs pydicom and sets XNATCTL_PYDICOM_TEST_FILES"
        );
        eprintln!("notice: pydicom's test files are not available; skipping this test");
    }
    found
}
