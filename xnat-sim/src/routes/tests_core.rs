//! In-process tests of auth, projects, subjects, experiments and scans over loopback.

use reqwest::{Method, StatusCode};

use crate::testutil::TestSim;
use crate::SimConfig;

#[tokio::test]
async fn anonymous_gets_401_with_realm() {
    let sim = TestSim::new(SimConfig::default()).await;
    let r = sim.call_as(None, Method::GET, "/data/projects", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers["www-authenticate"], "Basic realm=\"XNAT\"");
    let r = sim
        .call_as(None, Method::POST, "/data/JSESSION", None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.headers["www-authenticate"],
        "Basic realm=\"XNAT Protected Area\""
    );
    let r = sim
        .call_as(Some(("admin", "nope")), Method::GET, "/data/projects", None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Login attempt failed"));
    let r = sim
        .call_as(
            None,
            Method::GET,
            "/xapi/siteConfig/buildInfo/version",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, "1.8.10");
    assert_eq!(sim.get("/data/version").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jsession_cookie_round_trip_and_expiry() {
    let sim = TestSim::new(SimConfig::default()).await;
    let r = sim.call(Method::POST, "/data/JSESSION").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.len(), 32);
    assert!(r
        .body
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
    let cookies: Vec<String> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(cookies
        .iter()
        .any(|c| c.starts_with(&format!("JSESSIONID={}", r.body))));
    assert!(cookies
        .iter()
        .any(|c| c.starts_with("SESSION_EXPIRATION_TIME=\"") && c.contains(",900000\"")));
    let sid = r.body.clone();
    let url = format!("{}/xapi/users/username", sim.handle.base_url());
    let who = |sid: String| {
        let client = sim.client.clone();
        let url = url.clone();
        async move {
            client
                .get(url)
                .header("Cookie", format!("JSESSIONID={sid}"))
                .send()
                .await
                .unwrap()
        }
    };
    let resp = who(sid.clone()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), "admin");
    sim.handle.expire_sessions();
    assert_eq!(who(sid).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn project_create_list_and_detail() {
    let sim = TestSim::new(SimConfig::default()).await;
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xnat:Project ID=\"P1\" xmlns:xnat=\"http://nrg.wustl.edu/xnat\">\n<xnat:name>First</xnat:name>\n<xnat:PI><xnat:lastname>Doe</xnat:lastname></xnat:PI>\n</xnat:Project>";
    let r = sim
        .call_as(
            Some(("admin", "admin")),
            Method::POST,
            "/data/projects/P1?accessibility=public",
            Some(xml),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = sim.get("/data/projects?format=json").await;
    assert!(
        r.body.ends_with("}], \"totalRecords\": \"1\"}}"),
        "{}",
        r.body
    );
    let row = &r.rows()[0];
    assert_eq!(row["ID"], "P1");
    assert_eq!(row["name"], "First");
    assert_eq!(row["pi_lastname"], "Doe");
    assert_eq!(row["URI"], "/data/projects/P1");
    let r = sim
        .get("/data/projects?columns=ID,name,bogus&format=json")
        .await;
    let rows = r.rows();
    let keys: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["ID", "name", "URI"]);
    let r = sim.get("/data/projects/P1/accessibility").await;
    assert_eq!(r.body, "public");
    let r = sim.get("/data/projects/P1?format=json").await;
    assert_eq!(r.json()["items"][0]["data_fields"]["ID"], "P1");
    assert_eq!(
        sim.put("/data/projects/bad%20id").await.status,
        StatusCode::EXPECTATION_FAILED
    );
    assert_eq!(
        sim.get("/data/projects/NOPE?format=json").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn subject_and_experiment_lifecycle() {
    let sim = TestSim::new(SimConfig::default()).await;
    assert_eq!(sim.put("/data/projects/P1").await.status, StatusCode::OK);
    let r = sim.put("/data/projects/P1/subjects/S1?gender=female").await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body, "XNAT_S00001");
    let r = sim.put("/data/projects/P1/subjects/S1").await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "XNAT_S00001"));
    // Subject auto-created by an experiment PUT.
    let r = sim
        .put("/data/projects/P1/subjects/S2/experiments/MR1?xsiType=xnat:mrSessionData&date=12/17/2020")
        .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::CREATED, "XNAT_E00001")
    );
    let r = sim.get("/data/projects/P1/subjects?format=json").await;
    assert_eq!(r.rows().len(), 2);
    let r = sim.get("/data/projects/P1/experiments?format=json").await;
    let row = &r.rows()[0];
    assert_eq!(row["xnat:subjectassessordata/id"], "XNAT_E00001");
    assert_eq!(row["date"], "2020-12-17");
    assert_eq!(row["URI"], "/data/experiments/XNAT_E00001");
    // Accession ID first, even through another project's URL.
    assert_eq!(sim.put("/data/projects/P2").await.status, StatusCode::OK);
    let r = sim
        .get("/data/projects/P2/experiments/XNAT_E00001?format=json")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Custom field, rename with history.
    let r = sim
        .put("/data/projects/P1/subjects/S2/experiments/MR1?xnat:mrSessionData/fields/field%5Bname%3Dsite%5D/field=A")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = sim.put("/data/experiments/XNAT_E00001?label=MR1b").await;
    assert_eq!(r.status, StatusCode::OK);
    let h = sim
        .get("/data/experiments/XNAT_E00001/history?format=json")
        .await;
    let events = h.json()["events"].as_array().cloned().unwrap();
    assert!(events
        .iter()
        .any(|e| e["event_action"] == "Renamed" && e["event_status"] == "Complete"));
    let d = sim
        .get("/data/projects/P1/experiments/MR1b?format=json")
        .await
        .json();
    let children = d["items"][0]["children"].as_array().cloned().unwrap();
    let fields = children
        .iter()
        .find(|c| c["field"] == "fields/field")
        .unwrap();
    assert_eq!(fields["items"][0]["data_fields"]["name"], "site");
    // Scans.
    let r = sim
        .put("/data/experiments/XNAT_E00001/scans/1?xsiType=xnat:mrScanData&type=T1&series_description=T1w")
        .await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, ""));
    let r = sim
        .put("/data/experiments/XNAT_E00001/scans/1?xsiType=xnat:ctScanData")
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = sim
        .get("/data/experiments/XNAT_E00001/scans?format=json")
        .await;
    let row = &r.rows()[0];
    assert_eq!(row["URI"], "/data/experiments/XNAT_E00001/scans/1");
    assert_eq!(row["type"], "T1");
    // The project-scoped scans path answers with the experiment document.
    let r = sim
        .get("/data/projects/P1/experiments/XNAT_E00001/scans?format=json")
        .await;
    assert_eq!(r.json()["items"][0]["data_fields"]["ID"], "XNAT_E00001");
    assert_eq!(
        sim.delete("/data/experiments/XNAT_E00001/scans/1")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        sim.delete("/data/projects/P1/subjects/S2").await.status,
        StatusCode::OK
    );
    assert_eq!(
        sim.get("/data/experiments/XNAT_E00001?format=json")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
