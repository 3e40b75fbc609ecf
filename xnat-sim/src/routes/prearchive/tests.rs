//! Unit tests for `prearchive`, kept in their own file so the module itself reads as the code it ships.

use super::*;
use crate::testutil::TestSim;
use reqwest::Method;

const PRE: &str = "/data/prearchive/projects/DEMO_MR/20240301_101500000/PRE001";

#[test]
fn parses_src_and_dest() {
    assert_eq!(
        parse_src("/data/prearchive/projects/P/20240101_000000000/F"),
        Some(("P".into(), "20240101_000000000".into(), "F".into()))
    );
    assert_eq!(parse_src("/archive/projects/P"), None);
    let t = ArchiveTarget::from_dest("/archive/projects/P/subjects/S").unwrap();
    assert_eq!(
        (t.project.as_deref(), t.subject.as_deref(), t.session),
        (Some("P"), Some("S"), None)
    );
    assert!(ArchiveTarget::from_dest("/prearchive/projects/P").is_none());
    assert_eq!(xsi_types("CT").0, "xnat:ctSessionData");
}

#[tokio::test]
async fn listing_has_spec_columns_and_unprefixed_url() {
    let sim = TestSim::demo().await;
    let r = sim
        .get("/data/prearchive/projects/DEMO_MR?format=json")
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.ends_with("}]}}"), "no meta: {}", r.body);
    let rows = r.rows();
    assert_eq!(rows.len(), 1);
    let keys: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "project",
            "timestamp",
            "lastmod",
            "uploaded",
            "scan_date",
            "scan_time",
            "subject",
            "folderName",
            "name",
            "tag",
            "status",
            "url",
            "autoarchive",
            "prevent_anon",
            "prevent_auto_commit",
            "SOURCE",
            "VISIT",
            "PROTOCOL",
            "TIMEZONE"
        ]
    );
    assert_eq!(rows[0]["url"], &PRE[5..]);
    assert_eq!(rows[0]["status"], "READY");
    assert_eq!(
        sim.get("/data/prearchive?format=json").await.rows().len(),
        1
    );
    let d = sim.get(&format!("{PRE}?format=json")).await;
    assert_eq!(d.rows()[0]["folderName"], "PRE001");
    let nobody = sim
        .call_as(
            Some(("user", "user")),
            Method::GET,
            "/data/prearchive?format=json",
            None,
        )
        .await;
    assert_eq!(nobody.rows().len(), 1, "user is a DEMO_MR member");
}

#[tokio::test]
async fn archive_service_creates_session_with_dicom_resource() {
    let sim = TestSim::demo().await;
    let r = sim
        .client
        .post(format!("{}/data/services/archive", sim.handle.base_url()))
        .basic_auth("admin", Some("admin"))
        .form(&[
            ("src", &PRE[5..]),
            ("dest", "/archive/projects/DEMO_MR/subjects/NEWSUBJ"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/uri-list");
    assert_eq!(
        r.text().await.unwrap(),
        "/data/archive/projects/DEMO_MR/subjects/NEWSUBJ/experiments/PRE001\r\n"
    );
    let (count, xsi, prearc) = sim.handle.with_state(|st| {
        let e = st.experiment_by_label("DEMO_MR", "PRE001").unwrap();
        (
            e.scans[0].resources[0].files.len(),
            e.xsi_type.clone(),
            st.prearchive.len(),
        )
    });
    assert_eq!((count, xsi.as_str(), prearc), (2, "xnat:mrSessionData", 0));
    let files = sim
        .get("/data/projects/DEMO_MR/experiments/PRE001/scans/1/resources/DICOM/files")
        .await;
    assert_eq!(files.rows().len(), 2);
}

#[tokio::test]
async fn move_then_delete() {
    let sim = TestSim::demo().await;
    let r = sim
        .call(
            Method::POST,
            &format!("{PRE}?action=move&newProject=DEMO_CT"),
        )
        .await;
    assert_eq!(r.status, 301);
    assert_eq!(
        r.body,
        "/data/prearchive/projects/DEMO_CT/20240301_101500000/PRE001\r\n"
    );
    assert_eq!(sim.get(&format!("{PRE}?format=json")).await.status, 404);
    let moved = "/data/prearchive/projects/DEMO_CT/20240301_101500000/PRE001";
    assert_eq!(
        sim.call(Method::POST, &format!("{moved}?action=rebuild"))
            .await
            .status,
        200
    );
    assert_eq!(sim.delete(moved).await.status, 200);
    assert!(sim.handle.with_state(|st| st.prearchive.is_empty()));
}
