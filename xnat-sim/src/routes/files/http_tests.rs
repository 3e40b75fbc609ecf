//! HTTP-level tests for `files`, kept in their own file so the module itself reads as the code it ships.

use std::io::Read;

use reqwest::Method;

use crate::state::md5_hex;
use crate::testutil::TestSim;
use crate::SimConfig;

const MR1: &str = "/data/projects/DEMO_MR/subjects/SUBJ001/experiments/SUBJ001_MR1";

#[tokio::test]
async fn resource_listing_rows_are_strings() {
    let sim = TestSim::demo().await;
    let r = sim
        .get("/data/experiments/XNAT_E00001/scans/2/resources?format=json")
        .await;
    assert_eq!(r.status, 200);
    let rows = r.rows();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["label"], "DICOM");
    assert_eq!(row["category"], "scans");
    assert_eq!(row["cat_id"], "2");
    assert_eq!(row["cat_desc"], "T1w");
    assert_eq!(row["file_count"], "2");
    assert_eq!(row["element_name"], "xnat:resourceCatalog");
    assert!(row["file_size"].as_str().unwrap().parse::<u64>().unwrap() > 0);
    assert!(r
        .body
        .ends_with(r#"], "title": "Resources","totalRecords": "1"}}"#));
}

#[tokio::test]
async fn file_listing_envelope_bytes() {
    let sim = TestSim::demo().await;
    let r = sim
        .get(&format!("{MR1}/resources/NOTES/files?format=json"))
        .await;
    assert_eq!(r.status, 200);
    let rid = sim
        .handle
        .with_state(|st| st.experiments["XNAT_E00001"].resources[0].id);
    let bytes = b"Demo session notes: subject tolerated the scan well.\n";
    let expected = format!(
        r#"{{"ResultSet":{{"Columns":[{{"key":"URI","serverRoot":""}}],"Result":[{{"Name":"notes.txt","Size":"{}","URI":"/data/experiments/XNAT_E00001/resources/{rid}/files/notes.txt","collection":"NOTES","file_tags":"","file_format":"TXT","file_content":"notes","cat_ID":"{rid}","digest":"{}"}}], "title": "Files"}}}}"#,
        bytes.len(),
        md5_hex(bytes)
    );
    assert_eq!(r.body, expected);
    let f = sim
        .get(&format!(
            "/data/experiments/XNAT_E00001/resources/{rid}/files/notes.txt"
        ))
        .await;
    assert_eq!(f.status, 200);
    assert_eq!(f.body.as_bytes(), bytes);
    assert_eq!(f.headers["content-type"], "text/plain");
    assert_eq!(
        f.headers["content-length"],
        bytes.len().to_string().as_str()
    );
    let missing = sim
        .get(&format!("{MR1}/resources/NOTES/files/nope.txt"))
        .await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("<h3>Unable to find file.</h3>"));
}

#[tokio::test]
async fn upload_download_round_trip_and_duplicates() {
    let sim = TestSim::demo().await;
    let url = |q: &str| {
        format!(
            "{}{MR1}/resources/UP/files/dir/a.bin{q}",
            sim.handle.base_url()
        )
    };
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 256) as u8).collect();
    let put = |body: Vec<u8>, q: &'static str| {
        sim.client
            .put(url(q))
            .basic_auth("admin", Some("admin"))
            .body(body)
            .send()
    };
    let r = put(payload.clone(), "?inbody=true&format=BIN&content=RAW")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got = sim
        .client
        .get(url(""))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.headers()["content-length"], "300000");
    assert_eq!(got.bytes().await.unwrap().to_vec(), payload);
    let list = sim
        .get(&format!("{MR1}/resources/UP/files?format=json"))
        .await;
    let row = &list.rows()[0];
    assert_eq!(row["digest"], md5_hex(&payload).as_str());
    assert_eq!(
        row["URI"]
            .as_str()
            .unwrap()
            .rsplit_once("/files/")
            .unwrap()
            .1,
        "dir/a.bin"
    );
    assert_eq!(row["file_format"], "BIN");
    // The file really is on disk under the data dir, not held in memory.
    let on_disk = sim.handle.with_state(|st| {
        let e = &st.experiments["XNAT_E00001"];
        match &e.resources.iter().find(|r| r.label == "UP").unwrap().files["dir/a.bin"].data {
            crate::state::FileData::Disk(p) => p.starts_with(&st.data_dir),
            _ => false,
        }
    });
    assert!(on_disk);

    let dup = put(b"other".to_vec(), "?inbody=true").await.unwrap();
    assert_eq!(dup.status(), 200);
    assert_eq!(dup.text().await.unwrap(), r#"{"duplicates":["dir/a.bin"]}"#);
    let list = sim
        .get(&format!("{MR1}/resources/UP/files?format=json"))
        .await;
    assert_eq!(list.rows()[0]["digest"], md5_hex(&payload).as_str());
    let ow = put(b"other".to_vec(), "?inbody=true&overwrite=true")
        .await
        .unwrap();
    assert_eq!(ow.status(), 200);
    let again = sim
        .get(&format!("{MR1}/resources/UP/files/dir/a.bin"))
        .await;
    assert_eq!(again.body, "other");

    let empty = put(Vec::new(), "").await.unwrap();
    assert_eq!(empty.status(), 400);
    let del = sim.delete(&format!("{MR1}/resources/UP/files/dir")).await;
    assert_eq!(del.status, 200);
    let gone = sim
        .get(&format!("{MR1}/resources/UP/files/dir/a.bin"))
        .await;
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn multipart_extract_zip_into_resource() {
    let sim = TestSim::demo().await;
    let mut zbuf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut zbuf);
        let o = zip::write::SimpleFileOptions::default();
        z.start_file("a/1.txt", o).unwrap();
        std::io::Write::write_all(&mut z, b"one").unwrap();
        z.start_file("2.txt", o).unwrap();
        std::io::Write::write_all(&mut z, b"two").unwrap();
        z.finish().unwrap();
    }
    let mut body = b"--XBOUND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bundle.zip\"\r\nContent-Type: application/zip\r\n\r\n".to_vec();
    body.extend_from_slice(&zbuf.into_inner());
    body.extend_from_slice(b"\r\n--XBOUND--\r\n");
    let r = sim
        .client
        .post(format!(
            "{}/data/projects/DEMO_MR/resources/DOCS/files/sub/bundle.zip?extract=true",
            sim.handle.base_url()
        ))
        .basic_auth("admin", Some("admin"))
        .header("content-type", "multipart/form-data; boundary=XBOUND")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let names: Vec<String> = sim.handle.with_state(|st| {
        st.projects["DEMO_MR"].resources[0]
            .files
            .keys()
            .cloned()
            .collect()
    });
    assert_eq!(names, vec!["sub/2.txt", "sub/a/1.txt"]);
    let one = sim
        .get("/data/projects/DEMO_MR/resources/DOCS/files/sub/a/1.txt")
        .await;
    assert_eq!(one.body, "one");
}

#[tokio::test]
async fn create_and_delete_resource() {
    let sim = TestSim::demo().await;
    let r = sim
        .put(&format!(
            "{MR1}/scans/1/resources/NIFTI?format=NIFTI&content=T1_RAW"
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        sim.put(&format!("{MR1}/scans/1/resources/NIFTI"))
            .await
            .status,
        409
    );
    let rows = sim.get(&format!("{MR1}/scans/1/resources")).await.rows();
    assert!(rows
        .iter()
        .any(|r| r["label"] == "NIFTI" && r["format"] == "NIFTI"));
    assert_eq!(
        sim.delete(&format!("{MR1}/scans/1/resources/NIFTI"))
            .await
            .status,
        200
    );
    assert_eq!(
        sim.delete(&format!("{MR1}/scans/1/resources/NIFTI"))
            .await
            .status,
        404
    );
    let user = sim
        .call_as(
            Some(("user", "user")),
            Method::PUT,
            "/data/projects/DEMO_CT/resources/X",
            None,
        )
        .await;
    assert_eq!(user.status, 403);
}

#[tokio::test]
async fn zip_download_layout_and_headers() {
    let sim = TestSim::demo().await;
    let resp = sim
        .client
        .get(format!(
            "{}{MR1}/scans/ALL/files?format=zip",
            sim.handle.base_url()
        ))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"SUBJ001_MR1.zip\";"
    );
    let len: usize = resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = resp.bytes().await.unwrap().to_vec();
    assert_eq!(bytes.len(), len);
    let first = b"SUBJ001_MR1/scans/1-Localizer/resources/DICOM/files/1-1.dcm";
    assert_eq!(&bytes[30..30 + first.len()], first);
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let names: Vec<String> = z.file_names().map(String::from).collect();
    assert_eq!(names.len(), 4);
    assert!(names.contains(&"SUBJ001_MR1/scans/2-T1w/resources/DICOM/files/2-2.dcm".to_string()));
    let mut dcm = Vec::new();
    z.by_name("SUBJ001_MR1/scans/2-T1w/resources/DICOM/files/2-2.dcm")
        .unwrap()
        .read_to_end(&mut dcm)
        .unwrap();
    assert_eq!(&dcm[128..132], b"DICM");

    // Session-level resource and whole session.
    let r = sim
        .client
        .get(format!(
            "{}/data/experiments/XNAT_E00001/resources/NOTES/files?format=tar.gz",
            sim.handle.base_url()
        ))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"SUBJ001_MR1.tar.gz\";"
    );
    let gz = r.bytes().await.unwrap();
    let mut t = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
    let names: Vec<String> = t
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names, vec!["SUBJ001_MR1/resources/NOTES/files/notes.txt"]);
    let whole = sim
        .client
        .get(format!(
            "{}/data/experiments/XNAT_E00001/files?format=zip",
            sim.handle.base_url()
        ))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let z = zip::ZipArchive::new(std::io::Cursor::new(whole.to_vec())).unwrap();
    assert_eq!(z.len(), 5);
    let none = sim.get(&format!("{MR1}/scans/3/files?format=zip")).await;
    assert_eq!(none.status, 404);
    let picked = sim
        .get(&format!("{MR1}/scans/1,2/resources/DICOM/files?format=zip"))
        .await;
    assert_eq!(picked.status, 200);
}

#[tokio::test]
async fn reset_fault_cuts_a_streamed_archive() {
    let sim = TestSim::demo().await;
    sim.handle.add_fault(crate::FaultRule::reset_after(
        "GET",
        "/data/experiments/XNAT_E00001/*",
        100,
        1,
    ));
    let resp = sim
        .client
        .get(format!(
            "{}/data/experiments/XNAT_E00001/scans/ALL/files?format=zip",
            sim.handle.base_url()
        ))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.is_err(), "body must be cut");
    let ok = sim
        .get("/data/experiments/XNAT_E00001/scans/ALL/files?format=zip")
        .await;
    assert_eq!(ok.status, 200);
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_megabyte_archive_streams_with_flat_memory() {
    let config = SimConfig {
        generate: Some(
            "projects=1,subjects=1,sessions=1,scans=1,files=50,file-size=1048576"
                .parse()
                .unwrap(),
        ),
        ..Default::default()
    };
    let sim = TestSim::new(config).await;
    let before = rss_kib();
    let mut resp = sim
        .client
        .get(format!(
            "{}/data/projects/GEN00001/experiments/GEN00001_S0001_MR1/scans/ALL/files?format=zip",
            sim.handle.base_url()
        ))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut total = 0usize;
    let mut peak = before;
    while let Some(chunk) = resp.chunk().await.unwrap() {
        total += chunk.len();
        peak = peak.max(rss_kib());
    }
    assert!(total > 50 * 1024 * 1024);
    let growth_mib = peak.saturating_sub(before) / 1024;
    assert!(
        growth_mib < 25,
        "RSS grew by {growth_mib} MiB while streaming 50 MiB"
    );
}

/// One listing for many scans: `scans/ALL/files`, comma lists and scan types all answer in the
/// file-listing shape with each file's digest and its scan in the URI (spec §9.2, §9.3).
#[tokio::test]
async fn file_listing_across_scans_by_all_list_and_type() {
    let sim = TestSim::demo().await;
    let scans_of = |rows: &[serde_json::Value]| {
        let mut s: Vec<String> = rows
            .iter()
            .map(|r| {
                let uri = r["URI"].as_str().unwrap();
                assert!(
                    uri.starts_with("/data/experiments/XNAT_E00001/scans/"),
                    "{uri}"
                );
                assert_eq!(r["digest"].as_str().unwrap().len(), 32);
                uri.split('/').nth(5).unwrap().to_string()
            })
            .collect();
        s.dedup();
        s
    };
    let all = sim.get(&format!("{MR1}/scans/ALL/files?format=json")).await;
    assert_eq!(all.status, 200);
    assert_eq!(scans_of(&all.rows()), ["1", "2"]);
    let listed = sim
        .get("/data/experiments/XNAT_E00001/scans/2,1/files?format=json")
        .await;
    assert_eq!(scans_of(&listed.rows()).len(), 2);
    let by_type = sim.get(&format!("{MR1}/scans/T1w/files?format=json")).await;
    assert_eq!(scans_of(&by_type.rows()), ["2"]);
    assert!(by_type.rows().iter().all(|r| r["collection"] == "DICOM"));
    let missing = sim.get(&format!("{MR1}/scans/99/files?format=json")).await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn bandwidth_fault_paces_the_body() {
    let sim = TestSim::demo().await;
    const RATE: f64 = 40_000.0;
    sim.handle
        .add_fault(crate::FaultRule::bandwidth("GET", "*/files", RATE as u64));
    let t = std::time::Instant::now();
    let r = sim.get(&format!("{MR1}/scans/ALL/files?format=zip")).await;
    assert_eq!(r.status, 200);
    let len: f64 = r.headers["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let elapsed = t.elapsed().as_secs_f64();
    assert!(
        len > 1000.0 && elapsed >= len / RATE,
        "{len} bytes in {elapsed} s"
    );
    assert!(elapsed < len / RATE + 1.0, "{len} bytes in {elapsed} s");
}
