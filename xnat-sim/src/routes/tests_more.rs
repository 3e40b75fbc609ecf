//! In-process tests of sharing, search, faults, the request log and the demo fixture.

use reqwest::{Method, StatusCode};

use crate::faults::FaultRule;
use crate::testutil::TestSim;
use crate::SimConfig;

#[tokio::test]
async fn demo_visibility_and_permissions() {
    let sim = TestSim::demo().await;
    let user = Some(("user", "user"));
    let r = sim
        .call_as(user, Method::GET, "/data/projects?format=json", None)
        .await;
    assert_eq!(r.rows().len(), 3);
    // Member reads, cannot delete.
    let r = sim
        .call_as(
            user,
            Method::GET,
            "/data/projects/DEMO_MR/subjects?format=json",
            None,
        )
        .await;
    assert_eq!(r.rows().len(), 3);
    let r = sim
        .call_as(
            user,
            Method::DELETE,
            "/data/projects/DEMO_MR/subjects/SUBJ001",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("<h3>"));
    // A private project the user is not in is invisible.
    sim.put("/data/projects/SECRET").await;
    let r = sim
        .call_as(user, Method::GET, "/data/projects/SECRET?format=json", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Shared subject appears in DEMO_CT with its share label and owning project.
    let r = sim.get("/data/projects/DEMO_CT/subjects?format=json").await;
    let shared = r
        .rows()
        .into_iter()
        .find(|row| row["ID"] == "XNAT_S00001")
        .unwrap();
    assert_eq!(shared["label"], "SUBJ001_CT");
    assert_eq!(shared["project"], "DEMO_MR");
    let r = sim
        .get("/data/projects/DEMO_CT/subjects/SUBJ001_CT?format=json")
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn sharing_round_trip() {
    let sim = TestSim::demo().await;
    let r = sim
        .put("/data/subjects/XNAT_S00002/projects/DEMO_PUBLIC?label=P2")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = sim
        .put("/data/subjects/XNAT_S00002/projects/DEMO_PUBLIC")
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r
        .body
        .contains("<h3>Already assigned to project:DEMO_PUBLIC</h3>"));
    let r = sim
        .get("/data/subjects/XNAT_S00002/projects?format=json")
        .await;
    assert_eq!(r.rows().len(), 2);
    let r = sim
        .put("/data/experiments/XNAT_E00002/projects/DEMO_PUBLIC")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = sim
        .get("/data/projects/DEMO_PUBLIC/experiments?format=json")
        .await;
    assert_eq!(r.rows()[0]["project"], "DEMO_PUBLIC");
    assert_eq!(
        sim.delete("/data/experiments/XNAT_E00002/projects/DEMO_PUBLIC")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        sim.delete("/data/subjects/XNAT_S00002/projects/DEMO_PUBLIC")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        sim.put("/data/subjects/XNAT_S00002/projects/NOPE")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn saved_search_runs() {
    let sim = TestSim::demo().await;
    let r = sim.get("/data/search/saved?format=json").await;
    assert_eq!(r.rows()[0]["id"], "xs_demo_mr");
    let r = sim
        .get("/data/search/saved/xs_demo_mr/results?format=json")
        .await;
    assert_eq!(r.rows().len(), 3);
    let r = sim.get("/data/search/saved/xs_demo_mr?format=xml").await;
    assert!(r.body.contains("stored_search"));
    assert_eq!(
        sim.delete("/data/search/saved/xs_demo_mr").await.status,
        StatusCode::OK
    );
    assert_eq!(
        sim.get("/data/search/saved/xs_demo_mr").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn faults_are_injected_and_logged() {
    let sim = TestSim::new(SimConfig::default()).await;
    sim.handle
        .add_fault(FaultRule::status("GET", "/data/projects*", 503, 2).with_retry_after("1"));
    let r = sim.get("/data/projects?format=json").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(
        sim.get("/data/projects").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(sim.get("/data/projects").await.status, StatusCode::OK);
    let log = sim.handle.requests();
    let statuses: Vec<u16> = log.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 200]);
    assert_eq!(log[0].query, "format=json");

    // Over HTTP: SPEC text, then a cut body.
    let url = format!("{}/__sim/faults", sim.handle.base_url());
    let resp = sim
        .client
        .post(url)
        .body("method=GET,path=/xapi/siteConfig/buildInfo,reset-after=5")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let url = format!("{}/xapi/siteConfig/buildInfo", sim.handle.base_url());
    let resp = sim.client.get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.bytes().await.is_err());

    let url = format!("{}/__sim/requests", sim.handle.base_url());
    let v: serde_json::Value = sim
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v.as_array().unwrap().len(), 4);
    sim.client.delete(&url).send().await.unwrap();
    assert!(sim.handle.requests().is_empty());
}

#[tokio::test]
async fn project_users_grant_and_revoke() {
    let sim = TestSim::demo().await;
    let r = sim.get("/data/projects/DEMO_MR/users?format=json").await;
    assert!(r
        .rows()
        .iter()
        .any(|row| row["login"] == "user" && row["GROUP_ID"] == "DEMO_MR_member"));
    assert_eq!(
        sim.put("/data/projects/DEMO_PUBLIC/users/DEMO_PUBLIC_owner/user")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        sim.delete("/data/projects/DEMO_PUBLIC/users/DEMO_PUBLIC_owner/user")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        sim.put("/data/projects/DEMO_MR/accessibility/protected")
            .await
            .status,
        StatusCode::OK
    );
    let r = sim
        .call_as(
            Some(("user", "user")),
            Method::PUT,
            "/data/projects/DEMO_MR/accessibility/public",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[test]
fn spawn_runs_on_its_own_thread() {
    let sim = crate::SimHandle::spawn(SimConfig::demo()).unwrap();
    assert!(sim.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(sim.with_state(|s| s.projects.len()), 3);
    sim.with_state_mut(|s| s.projects.clear());
    sim.shutdown();
}

#[tokio::test]
async fn sessions_expire_after_inactivity() {
    let config = SimConfig {
        session_timeout: std::time::Duration::from_millis(300),
        ..Default::default()
    };
    let sim = TestSim::new(config).await;
    let sid = sim.call(Method::POST, "/data/JSESSION").await.body;
    let url = format!("{}/data/auth", sim.handle.base_url());
    let with_cookie = || {
        sim.client
            .get(&url)
            .header("Cookie", format!("JSESSIONID={sid}"))
            .send()
    };
    assert_eq!(with_cookie().await.unwrap().status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        with_cookie().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn listing_controls_and_aliases() {
    let sim = TestSim::demo().await;
    let r = sim
        .get("/data/projects/DEMO_MR/subjects?format=json&limit=2&offset=1")
        .await;
    assert_eq!(r.rows().len(), 2);
    assert!(!r.body.contains("totalRecords"));
    let r = sim
        .get("/data/projects/DEMO_MR/subjects?format=json&label=SUBJ001,SUBJ003&sortBy=label&sortOrder=DESC")
        .await;
    let labels: Vec<String> = r
        .rows()
        .iter()
        .map(|x| x["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels, ["SUBJ003", "SUBJ001"]);
    let r = sim
        .get("/REST/projects/DEMO_MR/subjects?format=json&label=SUBJ00*")
        .await;
    assert_eq!(r.rows().len(), 3);
    let r = sim
        .get("/data/archive/experiments?format=json&xsiType=xnat:ctSessionData&columns=ID,label")
        .await;
    let rows = r.rows();
    assert_eq!(rows.len(), 1);
    let keys: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["ID", "label", "xnat:ctsessiondata/id", "URI"]);
    let r = sim
        .put("/data/projects/DEMO_MR/subjects/SUBJ001?label=SUBJ002")
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("Specified label is already in use."));
}

#[tokio::test]
async fn latency_fault_delays() {
    let sim = TestSim::new(SimConfig::default()).await;
    sim.handle
        .add_fault(FaultRule::latency("*", "/data/auth", 150));
    let t = std::time::Instant::now();
    assert_eq!(sim.get("/data/auth").await.status, StatusCode::OK);
    assert!(t.elapsed() >= std::time::Duration::from_millis(150));
}
