//! Client-level authentication: login, header selection, re-login on 401, probes.

use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};
use xnatctl::core::client::{ClientOptions, XnatClient};
use xnatctl::core::Error;

fn opts(base: &str) -> ClientOptions {
    let mut o = ClientOptions::new(base);
    o.retry_no_delay = true;
    o
}

fn with_creds(base: &str) -> ClientOptions {
    let mut o = opts(base);
    o.username = Some("alice".into());
    o.password = Some("s3cret".into());
    o
}

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice:s3cret")
    )
}

fn headers_of(req: &Request, name: &str) -> Vec<String> {
    req.headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

#[tokio::test]
async fn authenticate_posts_basic_and_keeps_the_trimmed_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/data/JSESSION"))
        .and(header("authorization", basic().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_string("  ABC123\n"))
        .expect(1)
        .mount(&server)
        .await;
    let c = XnatClient::new(with_creds(&server.uri())).unwrap();
    assert!(!c.is_authenticated());
    assert_eq!(c.authenticate().await.unwrap(), "ABC123");
    assert_eq!(c.token().as_deref(), Some("ABC123"));
    assert!(c.is_authenticated());
    assert_eq!(c.username(), Some("alice"));
    let req = &requests(&server).await[0];
    assert!(req.body.is_empty());
}

#[tokio::test]
async fn login_failures_are_auth_errors_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/data/JSESSION"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<HTML><body>Login</body>"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/data/JSESSION"))
        .respond_with(ResponseTemplate::new(503))
        .with_priority(2)
        .mount(&server)
        .await;
    let c = XnatClient::new(with_creds(&server.uri())).unwrap();
    let e = c.authenticate().await.unwrap_err();
    assert!(
        matches!(&e, Error::Auth(m) if m.contains("invalid credentials")),
        "{e:?}"
    );
    let e = c.authenticate().await.unwrap_err();
    assert!(matches!(&e, Error::Auth(m) if m.contains("503")), "{e:?}");
    assert_eq!(e.exit_code(), 3);
    assert_eq!(requests(&server).await.len(), 2);

    let anon = XnatClient::new(opts(&server.uri())).unwrap();
    assert!(matches!(anon.authenticate().await, Err(Error::Auth(_))));
}

#[tokio::test]
async fn basic_without_token_cookie_with_token_nothing_when_anonymous() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let uri = server.uri();

    XnatClient::new(with_creds(&uri))
        .unwrap()
        .get("/one", &[])
        .await
        .unwrap();
    let mut o = with_creds(&uri);
    o.session_token = Some("TOK".into());
    let c = XnatClient::new(o).unwrap();
    c.request(reqwest::Method::GET, "/two")
        .header("Cookie", "extra=1")
        .send()
        .await
        .unwrap();
    XnatClient::new(opts(&uri))
        .unwrap()
        .get("/three", &[])
        .await
        .unwrap();

    let reqs = requests(&server).await;
    assert_eq!(headers_of(&reqs[0], "authorization"), vec![basic()]);
    assert!(headers_of(&reqs[0], "cookie").is_empty());
    assert!(headers_of(&reqs[1], "authorization").is_empty());
    assert_eq!(
        headers_of(&reqs[1], "cookie"),
        vec!["JSESSIONID=TOK; extra=1".to_string()]
    );
    assert!(headers_of(&reqs[2], "authorization").is_empty());
    assert!(headers_of(&reqs[2], "cookie").is_empty());
}

async fn reauth_server(login_token: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/data/projects"))
        .and(header("cookie", "JSESSIONID=OLD"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/data/projects"))
        .and(header("cookie", "JSESSIONID=NEW"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/data/JSESSION"))
        .respond_with(ResponseTemplate::new(200).set_body_string(login_token))
        .mount(&server)
        .await;
    server
}

fn reauth_client(server: &MockServer) -> (XnatClient, Arc<Mutex<Vec<String>>>) {
    let mut o = with_creds(&server.uri());
    o.session_token = Some("OLD".into());
    o.auto_reauth = true;
    o.max_retries = 0;
    let c = XnatClient::new(o).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    c.set_token_listener(Arc::new(move |t: &str| {
        sink.lock().unwrap().push(t.to_string())
    }));
    (c, seen)
}

#[tokio::test]
async fn a_401_logs_in_again_and_reports_the_new_token() {
    let server = reauth_server("NEW").await;
    let (c, seen) = reauth_client(&server);
    // max_retries is 0: the repeated request must not consume an attempt.
    let resp = c.get("/data/projects", &[]).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(c.token().as_deref(), Some("NEW"));
    assert_eq!(*seen.lock().unwrap(), vec!["NEW".to_string()]);
    let paths: Vec<_> = requests(&server)
        .await
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        paths,
        [
            "GET /data/projects",
            "POST /data/JSESSION",
            "GET /data/projects"
        ]
    );
}

#[tokio::test]
async fn a_second_401_is_session_expired() {
    // The login hands out a token the server still refuses.
    let server = reauth_server("OLD").await;
    let (c, seen) = reauth_client(&server);
    let e = c.get("/data/projects", &[]).await.unwrap_err();
    assert!(matches!(e, Error::SessionExpired(_)), "{e:?}");
    assert_eq!(e.exit_code(), 3);
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn without_auto_reauth_a_401_is_final() {
    let server = reauth_server("NEW").await;
    let mut o = with_creds(&server.uri());
    o.session_token = Some("OLD".into());
    let c = XnatClient::new(o).unwrap();
    let e = c.get("/data/projects", &[]).await.unwrap_err();
    assert!(matches!(e, Error::SessionExpired(_)));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn parallel_401s_log_in_only_once() {
    let server = reauth_server("NEW").await;
    let (c, seen) = reauth_client(&server);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.get("/data/projects", &[]).await.map(|_| ()) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let logins = requests(&server)
        .await
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(logins, 1);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn invalidate_session_sends_the_cookie_and_forgets_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/data/JSESSION"))
        .and(header("cookie", "JSESSIONID=TOK"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let mut o = opts(&server.uri());
    o.session_token = Some("TOK".into());
    let c = XnatClient::new(o).unwrap();
    c.invalidate_session().await;
    assert!(c.token().is_none());
    c.set_token(Some("T2".into()));
    assert_eq!(c.token().as_deref(), Some("T2"));
}

#[tokio::test]
async fn whoami_reads_the_xapi_user() {
    let server = MockServer::start().await;
    Mock::given(path("/xapi/users/username"))
        .respond_with(ResponseTemplate::new(200).set_body_string("Alice\n"))
        .mount(&server)
        .await;
    Mock::given(path("/xapi/users/alice"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "username": "alice", "firstName": "Alice", "lastName": "Liddell",
            "email": "a@x.org", "enabled": true
        })))
        .mount(&server)
        .await;
    // The configured casing wins when it matches case-insensitively.
    let c = XnatClient::new(with_creds(&server.uri())).unwrap();
    let u = c.whoami().await.unwrap();
    assert_eq!(u.username, "alice");
    assert_eq!(u.first_name.as_deref(), Some("Alice"));
    assert_eq!(u.email.as_deref(), Some("a@x.org"));
    assert!(u.enabled);
}

#[tokio::test]
async fn whoami_falls_back_to_data_auth_and_propagates_auth_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/xapi/users/username"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(path("/data/auth"))
        .respond_with(ResponseTemplate::new(200).set_body_string("User 'bob' is logged in"))
        .mount(&server)
        .await;
    let u = XnatClient::new(opts(&server.uri()))
        .unwrap()
        .whoami()
        .await
        .unwrap();
    assert_eq!(u.username, "bob");
    assert!(u.first_name.is_none());

    let denied = MockServer::start().await;
    Mock::given(path("/xapi/users/username"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&denied)
        .await;
    let e = XnatClient::new(opts(&denied.uri()))
        .unwrap()
        .whoami()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::SessionExpired(_)));
}

#[tokio::test]
async fn ping_falls_back_to_build_info() {
    let server = MockServer::start().await;
    Mock::given(path("/xapi/siteConfig/buildInfo/version"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(path("/xapi/siteConfig/buildInfo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": "1.8.10"})))
        .mount(&server)
        .await;
    let p = XnatClient::new(opts(&server.uri()))
        .unwrap()
        .ping()
        .await
        .unwrap();
    assert_eq!(p.version.as_deref(), Some("1.8.10"));
    assert_eq!(p.url, server.uri());
}

#[tokio::test]
async fn ping_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/xapi/siteConfig/buildInfo/version"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let e = XnatClient::new(opts(&server.uri()))
        .unwrap()
        .ping()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Http { status: 503, .. }), "{e:?}");
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_login_answer_that_is_not_a_session_id_is_refused_and_not_kept() {
    for body in [
        "A".repeat(10 * 1024 * 1024),
        "ABC123; Path=/; admin=true".to_string(),
        "x".repeat(300),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/data/JSESSION"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body.clone()))
            .mount(&server)
            .await;
        let c = XnatClient::new(with_creds(&server.uri())).unwrap();
        let e = c.authenticate().await.unwrap_err();
        assert!(
            matches!(&e, Error::Auth(m) if m.contains("not a session id")),
            "{e:?}"
        );
        assert_eq!(c.token(), None);
    }
}
