//! `session upload-dicom` (C-STORE) against dcmtk's storescp and the simulator's DICOM
//! receiver, and dcmtk's storescu into that receiver.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::dicom::{tool, write_study};
use crate::support::{stderr_of, stdout_of, TestEnv};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "port {port} never opened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// dcmtk's storescp writing every data set exactly as received (+B) into `dir`.
struct StoreScp(Child);

impl StoreScp {
    fn start(storescp: &Path, dir: &Path, port: u16) -> StoreScp {
        let child = Command::new(storescp)
            .args(["+B", "-aet", "STORESCP", "-od"])
            .arg(dir)
            .arg(port.to_string())
            .spawn()
            .unwrap();
        wait_listening(port);
        StoreScp(child)
    }
}

impl Drop for StoreScp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The data set of a Part 10 file: what follows its meta group (group length at byte 140).
fn dataset_of(bytes: &[u8]) -> &[u8] {
    assert_eq!(&bytes[128..132], b"DICM");
    let meta_len = u32::from_le_bytes([bytes[140], bytes[141], bytes[142], bytes[143]]) as usize;
    &bytes[144 + meta_len..]
}

fn upload(env: &TestEnv, dir: &Path, port: u16, aet: &str, extra: &[&str]) -> std::process::Output {
    let port = port.to_string();
    let mut args = vec![
        "session",
        "upload-dicom",
        dir.to_str().unwrap(),
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--called-aet",
        aet,
    ];
    args.extend_from_slice(extra);
    env.bare_cmd().args(&args).output().unwrap()
}

#[test]
fn upload_dicom_stores_byte_identical_data_sets_into_dcmtk_storescp() {
    let Some(storescp) = tool("storescp") else {
        return;
    };
    let env = TestEnv::empty();
    let work = tempfile::tempdir().unwrap();
    let files = write_study(&work.path().join("in/a"), "PAT1", 3, 5);
    let files_b = write_study(&work.path().join("in/b"), "PAT2", 4, 3);
    let out_dir = work.path().join("received");
    std::fs::create_dir(&out_dir).unwrap();
    let port = free_port();
    let _scp = StoreScp::start(&storescp, &out_dir, port);
    let out = upload(
        &env,
        &work.path().join("in"),
        port,
        "STORESCP",
        &["-w", "3", "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["status"], "success");
    assert_eq!(summary["files"], 8);
    let mut received: Vec<Vec<u8>> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(received.len(), 8);
    for f in files.iter().chain(&files_b) {
        let original = std::fs::read(f).unwrap();
        let want = dataset_of(&original);
        let pos = received
            .iter()
            .position(|r| dataset_of(r) == want)
            .unwrap_or_else(|| panic!("{} arrived altered", f.display()));
        received.remove(pos);
    }
}

/// The data set of `file` re-encoded by dcmtk in Explicit VR Little Endian: the same for any
/// two files holding the same attributes, whatever syntax each is stored in.
fn explicit_le_dataset(dcmconv: &Path, file: &Path, scratch: &Path) -> Vec<u8> {
    let out = Command::new(dcmconv)
        .arg("+te")
        .arg(file)
        .arg(scratch)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dataset_of(&std::fs::read(scratch).unwrap()).to_vec()
}

/// storescp +xi takes Implicit VR Little Endian only: an Explicit VR Little Endian and an
/// Explicit VR Big Endian file go converted (same attributes and pixels on arrival), a JPEG
/// Lossless file fails on its own with the reason, and the run exits 1.
#[test]
fn upload_dicom_converts_uncompressed_files_and_refuses_compressed_ones_per_file() {
    let (Some(storescp), Some(dcmconv), Some(dcmcjpeg)) =
        (tool("storescp"), tool("dcmconv"), tool("dcmcjpeg"))
    else {
        return;
    };
    let env = TestEnv::empty();
    let work = tempfile::tempdir().unwrap();
    let orig = write_study(&work.path().join("orig"), "PATX", 1, 3);
    let input = work.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let name = |p: &Path| input.join(p.file_name().unwrap());
    std::fs::copy(&orig[0], name(&orig[0])).unwrap();
    for (tool, flag, src) in [(&dcmconv, "+tb", &orig[1]), (&dcmcjpeg, "", &orig[2])] {
        let mut cmd = Command::new(tool);
        if !flag.is_empty() {
            cmd.arg(flag);
        }
        let out = cmd.arg(src).arg(name(src)).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out_dir = work.path().join("received");
    std::fs::create_dir(&out_dir).unwrap();
    let port = free_port();
    let child = Command::new(&storescp)
        .args(["+B", "+xi", "-aet", "STORESCP", "-od"])
        .arg(&out_dir)
        .arg(port.to_string())
        .spawn()
        .unwrap();
    wait_listening(port);
    let _scp = StoreScp(child);
    let out = upload(&env, &input, port, "STORESCP", &["-w", "2", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["files"], 2, "{summary}");
    let failed: Vec<&Value> = summary["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] != "success")
        .collect();
    assert_eq!(failed.len(), 1, "{summary}");
    assert!(
        failed[0]["id"]
            .as_str()
            .unwrap()
            .ends_with("PATX_1_0003.dcm"),
        "{summary}"
    );
    let why = failed[0]["error"].as_str().unwrap();
    assert!(
        why.contains("does not accept transfer syntax 1.2.840.10008.1.2.4.70")
            && why.contains("converts uncompressed files only"),
        "{why}"
    );
    let scratch = work.path().join("scratch.dcm");
    let mut received: Vec<Vec<u8>> = Vec::new();
    for e in std::fs::read_dir(&out_dir).unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        // The meta group names Implicit VR Little Endian ("1.2.840.10008.1.2" + NUL pad).
        assert!(
            bytes[..400]
                .windows(18)
                .any(|w| w == b"1.2.840.10008.1.2\0"),
            "{} arrived in another syntax",
            p.display()
        );
        received.push(explicit_le_dataset(&dcmconv, &p, &scratch));
    }
    assert_eq!(received.len(), 2);
    for f in &orig[..2] {
        let want = explicit_le_dataset(&dcmconv, f, &scratch);
        assert!(received.contains(&want), "{} arrived altered", f.display());
    }
}

#[test]
fn storescu_stores_into_the_simulator_receiver_which_files_a_prearchive_session() {
    let Some(storescu) = tool("storescu") else {
        return;
    };
    let Some(echoscu) = tool("echoscu") else {
        return;
    };
    let env = TestEnv::empty();
    let addr = env.sim.start_dicom_receiver("XNAT").unwrap();
    let port = addr.port().to_string();
    let work = tempfile::tempdir().unwrap();
    let files = write_study(work.path(), "PATSCU", 9, 3);
    let echo = Command::new(&echoscu)
        .args(["-aec", "XNAT", "127.0.0.1", &port])
        .output()
        .unwrap();
    assert!(
        echo.status.success(),
        "{}",
        String::from_utf8_lossy(&echo.stderr)
    );
    let wrong = Command::new(&echoscu)
        .args(["-aec", "NOTXNAT", "127.0.0.1", &port])
        .output()
        .unwrap();
    assert!(
        !wrong.status.success(),
        "a wrong called AE title was accepted"
    );
    let stored = Command::new(&storescu)
        .args(["-aec", "XNAT", "127.0.0.1", &port])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        stored.status.success(),
        "{}",
        String::from_utf8_lossy(&stored.stderr)
    );
    let out = env
        .cmd()
        .args(["prearchive", "list", "-o", "json"])
        .output()
        .unwrap();
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["name"], "PATSCU");
}

#[test]
fn upload_dicom_then_prearchive_list_shows_one_session_per_study() {
    let env = TestEnv::empty();
    let addr = env.sim.start_dicom_receiver("XNAT").unwrap();
    let work = tempfile::tempdir().unwrap();
    write_study(&work.path().join("s1"), "PATA", 1, 4);
    write_study(&work.path().join("s2"), "PATB", 2, 2);
    std::fs::write(work.path().join("notes.txt"), "not dicom").unwrap();
    let out = upload(&env, work.path(), addr.port(), "XNAT", &["-w", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("Sent 6/6 DICOM files"),
        "{}",
        stderr_of(&out)
    );
    let out = env
        .cmd()
        .args(["prearchive", "list", "-o", "json"])
        .output()
        .unwrap();
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["PATA", "PATB"]);
}

#[test]
fn upload_dicom_fails_with_one_clear_line_and_its_exit_code() {
    let env = TestEnv::empty();
    let addr = env.sim.start_dicom_receiver("XNAT").unwrap();
    let work = tempfile::tempdir().unwrap();
    let files = write_study(work.path(), "PATA", 1, 1);
    // Nothing listening: a network error (exit 4), nothing sent.
    let out = upload(&env, work.path(), free_port(), "XNAT", &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("error: cannot reach dicom://127.0.0.1:"),
        "{}",
        stderr_of(&out)
    );
    // The receiver rejects an unknown called AE title: the C-ECHO names the settings.
    let out = upload(&env, work.path(), addr.port(), "NOTXNAT", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("C-ECHO failed - check host/port/AET settings"),
        "{}",
        stderr_of(&out)
    );
    // A file instead of a directory.
    let out = upload(&env, &files[0], addr.port(), "XNAT", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("requires a directory of DICOM files"));
    // TLS options without --tls, and TLS against a plaintext port.
    let out = upload(
        &env,
        work.path(),
        addr.port(),
        "XNAT",
        &["--tls-ca-bundle", files[0].to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = upload(&env, work.path(), addr.port(), "XNAT", &["--tls"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr_of(&out).contains("TLS"), "{}", stderr_of(&out));
    // An empty directory.
    let empty = tempfile::tempdir().unwrap();
    let out = upload(&env, empty.path(), addr.port(), "XNAT", &["-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["status"], "failed");
    assert!(stdout_of(&out).contains("No DICOM files found"));
}

#[test]
fn upload_dicom_dry_run_sends_nothing() {
    let env = TestEnv::empty();
    let work = tempfile::tempdir().unwrap();
    write_study(work.path(), "PATA", 1, 1);
    let out = upload(&env, work.path(), 1, "XNAT", &["--dry-run", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["transport"], "plaintext");
}

#[test]
fn a_dropped_association_is_reestablished_and_its_unstored_files_sent() {
    let env = TestEnv::empty();
    let faults = xnat_sim::dicom_receiver::ReceiverFaults {
        abort_after: Some(2),
        aborts: std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(1)),
        ..Default::default()
    };
    let addr = env.sim.start_dicom_receiver_with("XNAT", faults).unwrap();
    let work = tempfile::tempdir().unwrap();
    write_study(work.path(), "PATA", 1, 6);
    let out = upload(
        &env,
        work.path(),
        addr.port(),
        "XNAT",
        &["-w", "1", "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["files"], 6, "{summary}");
    assert_eq!(summary["status"], "success");
}

#[test]
fn ctrl_c_stops_upload_dicom_cleanly_with_exit_7() {
    let env = TestEnv::empty();
    let faults = xnat_sim::dicom_receiver::ReceiverFaults {
        delay: Duration::from_millis(200),
        ..Default::default()
    };
    let addr = env.sim.start_dicom_receiver_with("XNAT", faults).unwrap();
    let work = tempfile::tempdir().unwrap();
    write_study(work.path(), "PATA", 1, 30);
    let port = addr.port().to_string();
    let mut cmd = env.bare_cmd();
    cmd.args([
        "session",
        "upload-dicom",
        work.path().to_str().unwrap(),
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--called-aet",
        "XNAT",
        "-w",
        "1",
        "-o",
        "json",
    ]);
    let child = crate::support::spawn(&cmd);
    std::thread::sleep(Duration::from_millis(1200));
    crate::support::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr_of(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sent = summary["files"].as_u64().unwrap();
    assert!(sent > 0 && sent < 30, "sent {sent}");
    let cancelled = summary["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["error"] == "cancelled")
        .count();
    assert_eq!(cancelled as u64, 30 - sent, "{summary}");
}

/// A truncated file fails alone (nothing of it is sent) and the others are stored; without a
/// terminal no progress bar is drawn and stdout stays empty.
#[test]
fn a_truncated_file_fails_alone_and_no_bar_is_drawn_off_a_terminal() {
    let env = TestEnv::empty();
    let addr = env.sim.start_dicom_receiver("XNAT").unwrap();
    let work = tempfile::tempdir().unwrap();
    let files = write_study(work.path(), "PATT", 1, 3);
    let bytes = std::fs::read(&files[1]).unwrap();
    std::fs::write(&files[1], &bytes[..bytes.len() - 10]).unwrap();
    let out = upload(&env, work.path(), addr.port(), "XNAT", &["-w", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!(
            "{}: element (7FE0,0010) claims",
            files[1].display()
        )),
        "{err}"
    );
    assert!(err.contains("Sent 2/3 DICOM files"), "{err}");
    assert!(!err.contains("ETA") && !err.contains('\r'), "{err}");
    assert_eq!(stdout_of(&out), "");
}
