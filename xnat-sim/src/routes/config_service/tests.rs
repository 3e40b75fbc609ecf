//! Unit tests for `config_service`, kept in their own file so the module itself reads as the code it ships.

use crate::testutil::TestSim;
use reqwest::Method;

#[tokio::test]
async fn site_anon_script_via_config_service() {
    let sim = TestSim::demo().await;
    let put = |q: &'static str, body: &'static str| {
        sim.call_as(Some(("admin", "admin")), Method::PUT, q, Some(body))
    };
    let r = put(
        "/data/config/anon/script?inbody=true",
        "(0010,0010) := \"X\"",
    )
    .await;
    assert_eq!(r.status, 201);
    let r = put(
        "/data/config/anon/script?inbody=true",
        "(0010,0010) := \"Y\"",
    )
    .await;
    assert_eq!(r.status, 200);
    let c = sim.get("/data/config/anon/script?contents=true").await;
    assert_eq!(c.body, "(0010,0010) := \"Y\"");
    let row = &sim.get("/data/config/anon/script?format=json").await.rows()[0];
    assert_eq!(row["version"], "2");
    assert_eq!(row["status"], "enabled");
    assert_eq!(row["tool"], "anon");
    assert_eq!(row["path"], "script");
    assert_eq!(
        sim.call(Method::PUT, "/data/config/anon/script?status=disabled")
            .await
            .status,
        200
    );
    assert_eq!(
        sim.get("/data/config/anon/script?contents=true")
            .await
            .status,
        404
    );
    assert_eq!(sim.get("/xapi/anonymize/site/enabled").await.body, "false");
    let tools = sim.get("/data/config?format=json").await.rows();
    assert_eq!(tools[0]["tool"], "anon");
    let denied = sim
        .call_as(
            Some(("user", "user")),
            Method::PUT,
            "/data/config/anon/script?inbody=true",
            Some("x"),
        )
        .await;
    assert_eq!(denied.status, 403);
}

#[tokio::test]
async fn project_anon_script_shared_with_xapi() {
    let sim = TestSim::demo().await;
    assert_eq!(
        sim.get("/xapi/anonymize/projects/DEMO_MR").await.status,
        204
    );
    let r = sim
        .call_as(
            Some(("admin", "admin")),
            Method::PUT,
            "/data/projects/DEMO_MR/config/anon/projects/DEMO_MR?inbody=true&status=enabled",
            Some("(0008,0050) := \"A\""),
        )
        .await;
    assert_eq!(r.status, 201);
    let x = sim.get("/xapi/anonymize/projects/DEMO_MR").await;
    assert_eq!(
        (x.status.as_u16(), x.body.as_str()),
        (200, "(0008,0050) := \"A\"")
    );
    assert_eq!(
        sim.get("/xapi/anonymize/projects/DEMO_MR/enabled")
            .await
            .body,
        "true"
    );
    // A member is not an owner: 403 on write.
    let m = sim
        .call_as(
            Some(("user", "user")),
            Method::PUT,
            "/data/projects/DEMO_MR/config/anon/projects/DEMO_MR?inbody=true",
            Some("x"),
        )
        .await;
    assert_eq!(m.status, 403);
    assert!(m.body.contains("modify config for this project"));
    assert_eq!(
        sim.delete("/data/projects/DEMO_MR/config/anon/projects/DEMO_MR")
            .await
            .status,
        200
    );
    assert_eq!(
        sim.get("/xapi/anonymize/projects/DEMO_MR").await.status,
        204
    );
    let fallback = sim
        .get("/data/projects/DEMO_MR/config/anon/script?contents=true&defaultToSiteWide=true")
        .await;
    assert_eq!(fallback.status, 404);
}

#[tokio::test]
async fn a_disabled_project_script_is_hidden_but_its_config_remains() {
    let sim = TestSim::demo().await;
    assert_eq!(
        sim.get("/data/projects/DEMO_MR/config/anon?format=json")
            .await
            .status,
        404
    );
    let put = sim
        .call_as(
            Some(("admin", "admin")),
            Method::PUT,
            "/xapi/anonymize/projects/DEMO_MR",
            Some("(0008,0050) := \"A\""),
        )
        .await;
    assert_eq!(put.status, 200);
    let off = sim
        .call_as(
            Some(("admin", "admin")),
            Method::PUT,
            "/xapi/anonymize/projects/DEMO_MR/enabled?enable=false",
            Some("null"),
        )
        .await;
    assert_eq!(off.status, 200);
    assert_eq!(
        sim.get("/xapi/anonymize/projects/DEMO_MR").await.status,
        204
    );
    let rows = sim
        .get("/data/projects/DEMO_MR/config/anon?format=json")
        .await
        .rows();
    assert_eq!(rows[0]["status"], "disabled");
}
