//! Unit tests for `import`, kept in their own file so the module itself reads as the code it ships.

use super::*;
use crate::dicom::{generate, DicomSpec};
use crate::testutil::TestSim;

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        for (name, bytes) in files {
            z.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut z, bytes).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

fn study() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for series in [1, 2] {
        for i in 1..=2 {
            let mut s = DicomSpec::mr("IMP01", 77, series, i);
            s.accession_number = "IMPSESS".into();
            out.push((format!("d/{series}-{i}.dcm"), generate(&s)));
        }
    }
    out
}

async fn post(sim: &TestSim, query: &str, body: Vec<u8>) -> (u16, String, String) {
    let r = sim
        .client
        .post(format!(
            "{}/data/services/import?{query}",
            sim.handle.base_url()
        ))
        .basic_auth("admin", Some("admin"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

#[test]
fn dest_and_labels() {
    assert_eq!(parse_dest("/prearchive").unwrap(), Dest::default());
    assert_eq!(
        parse_dest("/data/prearchive/projects/P")
            .unwrap()
            .project
            .as_deref(),
        Some("P")
    );
    assert!(parse_dest("/archive/projects/P").unwrap().archive.is_some());
    assert!(parse_dest("/elsewhere").is_none());
    assert_eq!(label_of("Doe^John "), "Doe_John");
}

#[tokio::test]
async fn dicom_zip_into_prearchive_then_reimport_does_not_duplicate() {
    let sim = TestSim::demo().await;
    let body = zip_of(&study());
    let (status, ct, text) = post(
        &sim,
        "import-handler=DICOM-zip&inbody=true&PROJECT_ID=DEMO_MR",
        body.clone(),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(ct, "text/uri-list");
    assert!(
        text.starts_with("/data/prearchive/projects/DEMO_MR/"),
        "{text}"
    );
    assert!(text.ends_with("/IMPSESS\r\n"), "{text}");
    let count = |sim: &TestSim| {
        sim.handle.with_state(|st| {
            let e = st
                .prearchive
                .iter()
                .find(|e| e.session == "IMPSESS")
                .unwrap();
            (
                e.subject.clone(),
                e.scans.len(),
                e.scans.iter().map(|s| s.files.len()).sum::<usize>(),
            )
        })
    };
    assert_eq!(count(&sim), ("IMP01".to_string(), 2, 4));
    let (status, _, again) = post(
        &sim,
        "import-handler=DICOM-zip&inbody=true&PROJECT_ID=DEMO_MR",
        body,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(again, text, "same study, same prearchive session");
    assert_eq!(count(&sim), ("IMP01".to_string(), 2, 4));
}

#[tokio::test]
async fn direct_archive_with_labels_and_gradual_append() {
    let sim = TestSim::demo().await;
    let files = study();
    let (status, _, text) = post(
            &sim,
            "import-handler=gradual-DICOM&PROJECT_ID=DEMO_MR&SUBJECT_ID=S9&EXPT_LABEL=S9_MR&Direct-Archive=true",
            files[0].1.clone(),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        text,
        "/data/archive/projects/DEMO_MR/subjects/S9/experiments/S9_MR\r\n"
    );
    for f in &files[1..] {
        let (status, _, _) = post(
                &sim,
                "import-handler=gradual-DICOM&PROJECT_ID=DEMO_MR&SUBJECT_ID=S9&EXPT_LABEL=S9_MR&Direct-Archive=true",
                f.1.clone(),
            )
            .await;
        assert_eq!(status, 200);
    }
    let (scans, files_n) = sim.handle.with_state(|st| {
        let e = st.experiment_by_label("DEMO_MR", "S9_MR").unwrap();
        (
            e.scans.len(),
            e.scans
                .iter()
                .map(|s| s.resources[0].files.len())
                .sum::<usize>(),
        )
    });
    assert_eq!((scans, files_n), (2, 4));
    // The archived files are servable.
    let z = sim
        .get("/data/projects/DEMO_MR/experiments/S9_MR/scans/ALL/files?format=zip")
        .await;
    assert_eq!(z.status, 200);
}

#[tokio::test]
async fn tar_gz_into_auto_archiving_project() {
    let sim = TestSim::demo().await;
    assert_eq!(
        sim.put("/data/projects/DEMO_MR/prearchive_code/4")
            .await
            .status,
        200
    );
    let mut tgz = Vec::new();
    {
        let gz = flate2::write::GzEncoder::new(&mut tgz, flate2::Compression::fast());
        let mut t = tar::Builder::new(gz);
        for (name, bytes) in study() {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            t.append_data(&mut h, name, &bytes[..]).unwrap();
        }
        t.into_inner().unwrap().finish().unwrap();
    }
    let (status, _, text) = post(&sim, "PROJECT_ID=DEMO_MR&inbody=true", tgz).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        text,
        "/data/archive/projects/DEMO_MR/subjects/IMP01/experiments/IMPSESS\r\n"
    );
    let n = sim.handle.with_state(|st| {
        let e = st.experiment_by_label("DEMO_MR", "IMPSESS").unwrap();
        e.scans
            .iter()
            .map(|s| s.resources[0].files.len())
            .sum::<usize>()
    });
    assert_eq!(n, 4);
}

#[tokio::test]
async fn unparsable_files_fail_unless_ignored() {
    let sim = TestSim::demo().await;
    let mut files = study();
    files.push(("readme.txt".into(), b"not dicom".to_vec()));
    let body = zip_of(&files);
    let (status, _, _) = post(&sim, "PROJECT_ID=DEMO_MR&inbody=true", body.clone()).await;
    assert_eq!(status, 400);
    assert!(
        sim.handle.with_state(|st| st.prearchive.len()) == 1,
        "only the fixture entry"
    );
    let (status, _, text) = post(
        &sim,
        "PROJECT_ID=DEMO_MR&inbody=true&Ignore-Unparsable=true&format=txt",
        body,
    )
    .await;
    assert_eq!(status, 200);
    assert!(!text.ends_with("\r\n"));
    let (status, _, _) = post(&sim, "import-handler=XAR", Vec::new()).await;
    assert_eq!(status, 404);
}
