//! Client-level behaviour of retries, status mapping, downloads and pagination, against wiremock.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};
use xnatctl::core::client::{ClientOptions, XnatClient};
use xnatctl::core::progress::NoProgress;
use xnatctl::core::Error;

fn client(base: &str) -> XnatClient {
    let mut opts = ClientOptions::new(base);
    opts.retry_no_delay = true;
    XnatClient::new(opts).unwrap()
}

async fn hits(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn two_503s_then_success_takes_three_requests() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/data/projects"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/data/projects"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .with_priority(2)
        .mount(&server)
        .await;
    let resp = client(&server.uri())
        .get("/data/projects", &[])
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "ok");
    assert_eq!(hits(&server).await, 3);
}

#[tokio::test]
async fn endless_503_exhausts_the_budget() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = client(&server.uri())
        .get("/data/projects", &[("format", "json")])
        .await
        .unwrap_err();
    match &err {
        Error::RetryExhausted {
            what,
            attempts,
            last,
        } => {
            assert_eq!(what, "GET /data/projects");
            assert_eq!(*attempts, 4);
            assert!(last.contains("503"), "{last}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.exit_code(), 4);
    assert_eq!(hits(&server).await, 4);
}

#[tokio::test]
async fn per_request_budget_overrides_the_client() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let c = client(&server.uri());
    let err = c
        .request(reqwest::Method::GET, "/x")
        .max_retries(1)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RetryExhausted { attempts: 2, .. }));
    assert_eq!(hits(&server).await, 2);
}

#[tokio::test]
async fn post_answered_500_is_sent_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom\nmore"))
        .mount(&server)
        .await;
    let err = client(&server.uri())
        .post("/data/projects/P/subjects", &[("a", "b")])
        .await
        .unwrap_err();
    match &err {
        Error::Http {
            status,
            method,
            path,
            body,
        } => {
            assert_eq!(*status, 500);
            assert_eq!(method, "POST");
            assert_eq!(path, "/data/projects/P/subjects");
            assert!(body.starts_with("boom"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.hint().unwrap().contains("partially executed"));
    assert_eq!(hits(&server).await, 1);
}

#[tokio::test]
async fn post_can_opt_in_to_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .with_priority(2)
        .mount(&server)
        .await;
    client(&server.uri())
        .request(reqwest::Method::POST, "/x")
        .retry_non_idempotent()
        .send()
        .await
        .unwrap();
    assert_eq!(hits(&server).await, 2);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    // Delays must be real here, so the no-delay knob is turned off on this client only.
    let mut opts = ClientOptions::new(server.uri());
    opts.retry_no_delay = false;
    let c = XnatClient::new(opts).unwrap();
    let started = Instant::now();
    c.post("/x", &[]).await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(hits(&server).await, 2);
}

#[tokio::test]
async fn error_statuses_map_to_typed_errors() {
    let server = MockServer::start().await;
    for (p, s) in [("/a", 401), ("/b", 403), ("/c", 404), ("/d", 409)] {
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(s).set_body_string("exists"))
            .mount(&server)
            .await;
    }
    let c = client(&server.uri());
    let e = c.get("/a", &[("q", "1")]).await.unwrap_err();
    assert!(
        matches!(&e, Error::SessionExpired(u) if u.ends_with("/a")),
        "{e:?}"
    );
    let e = c.delete("/b", &[]).await.unwrap_err();
    assert!(
        matches!(&e, Error::PermissionDenied(m) if m == "DELETE /b"),
        "{e:?}"
    );
    let e = c.get("/c", &[("q", "1")]).await.unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { id, .. } if id == "/c"),
        "{e:?}"
    );
    assert_eq!(e.exit_code(), 5);
    let e = c.put("/d", &[]).await.unwrap_err();
    assert_eq!(e.to_string(), "HTTP 409 on PUT /d: exists");
}

#[tokio::test]
async fn refused_connection_is_retried_then_reported_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let err = client(&format!("http://127.0.0.1:{port}"))
        .get("/data/projects", &[])
        .await
        .unwrap_err();
    match &err {
        Error::RetryExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 4);
            assert!(last.starts_with("cannot reach"), "{last}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.exit_code(), 4);
}

#[tokio::test]
async fn context_path_and_user_agent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/xnat/data/projects"))
        .and(query_param("format", "json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ResultSet": {"Result": [{"ID": "P1"}, {"ID": "P2"}]}
        })))
        .mount(&server)
        .await;
    let c = client(&format!("{}/xnat/", server.uri()));
    let rows = c
        .list_rows("/data/projects", &[("columns", "ID,name")])
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(req.url.query(), Some("columns=ID%2Cname&format=json"));
    let ua = req.headers.get("user-agent").unwrap().to_str().unwrap();
    assert_eq!(ua, format!("xnatctl/{}", env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn download_writes_dest_and_reports_md5() {
    let server = MockServer::start().await;
    let body = vec![7u8; 300_000];
    Mock::given(method("GET"))
        .and(path("/data/x/files"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(body.clone()))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.zip");
    let out = client(&server.uri())
        .download_to_file("/data/x/files", &[("format", "zip")], &dest, &NoProgress)
        .await
        .unwrap();
    assert_eq!(out.bytes, 300_000);
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    use md5::Digest;
    assert_eq!(out.md5, hex::encode(md5::Md5::digest(&body)));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("x.zip")]);
}

/// A server that promises 1000 bytes, sends 10 and hangs up.
async fn truncating_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
                    .await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn cut_short_download_leaves_nothing_at_dest() {
    let base = truncating_server().await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("scan.zip");
    let err = client(&base)
        .download_to_file("/data/x", &[], &dest, &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Download(_)), "{err:?}");
    assert!(!dest.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let mut sink: Vec<u8> = Vec::new();
    let err = client(&base)
        .stream_to_writer("/data/x", &[], &mut sink)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Download(_)), "{err:?}");
}

fn page(ids: &[&str]) -> ResponseTemplate {
    let rows: Vec<_> = ids.iter().map(|id| json!({ "ID": id })).collect();
    ResponseTemplate::new(200).set_body_json(json!({"ResultSet": {"Result": rows}}))
}

async fn paged_server() -> MockServer {
    let server = MockServer::start().await;
    for (offset, ids) in [("0", vec!["a", "b"]), ("2", vec!["c"])] {
        Mock::given(method("GET"))
            .and(path("/data/experiments"))
            .and(query_param("offset", offset))
            .and(query_param("limit", "2"))
            .respond_with(page(&ids))
            .mount(&server)
            .await;
    }
    server
}

#[tokio::test]
async fn pagination_stops_at_the_short_page() {
    let server = paged_server().await;
    let rows: Vec<_> = client(&server.uri())
        .paginate("/data/experiments", &[("project", "P")], 2, None)
        .collect()
        .await;
    let ids: Vec<_> = rows
        .into_iter()
        .map(|r| r.unwrap()["ID"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(hits(&server).await, 2);
}

#[tokio::test]
async fn pagination_fetches_only_what_is_taken() {
    let server = paged_server().await;
    let c = client(&server.uri());
    let taken: Vec<_> = c
        .paginate("/data/experiments", &[], 2, None)
        .take(2)
        .collect()
        .await;
    assert_eq!(taken.len(), 2);
    assert_eq!(hits(&server).await, 1);
}

#[tokio::test]
async fn pagination_survives_a_server_that_ignores_offset() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/data/subjects"))
        .respond_with(page(&["a", "b"]))
        .mount(&server)
        .await;
    let rows: Vec<_> = client(&server.uri())
        .paginate("/data/subjects", &[], 2, None)
        .collect()
        .await;
    assert_eq!(rows.len(), 2);
    assert_eq!(hits(&server).await, 2);

    let big = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(page(&["a", "b", "c", "d", "e"]))
        .mount(&big)
        .await;
    let rows: Vec<_> = client(&big.uri())
        .paginate("/data/subjects", &[], 2, None)
        .collect()
        .await;
    assert_eq!(rows.len(), 5);
    assert_eq!(hits(&big).await, 1);
}

/// Every page full, with ids no page had before (`offset`-derived), for ever.
struct EndlessPages;

impl wiremock::Respond for EndlessPages {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let offset: usize = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "offset")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let ids = [format!("P{offset}"), format!("P{}", offset + 1)];
        let rows: Vec<_> = ids.iter().map(|id| json!({ "ID": id })).collect();
        ResponseTemplate::new(200).set_body_json(json!({"ResultSet": {"Result": rows}}))
    }
}

#[tokio::test]
async fn a_server_that_pages_forever_is_stopped_at_the_row_cap() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(EndlessPages)
        .mount(&server)
        .await;
    let mut opts = ClientOptions::new(server.uri());
    opts.retry_no_delay = true;
    opts.max_listing_rows = 10;
    let rows: Vec<_> = XnatClient::new(opts)
        .unwrap()
        .paginate("/data/projects", &[], 2, None)
        .collect()
        .await;
    assert_eq!(rows.len(), 11, "10 rows, then the error");
    assert!(rows[..10].iter().all(|r| r.is_ok()));
    let err = rows[10].as_ref().unwrap_err().to_string();
    assert!(err.contains("kept sending pages"), "{err}");
    assert_eq!(hits(&server).await, 6);
}

#[tokio::test]
async fn a_page_of_rows_seen_before_ends_the_listing() {
    let server = MockServer::start().await;
    // Page 2 repeats page 1's rows in another order (the old first-row check missed this).
    Mock::given(method("GET"))
        .and(query_param("offset", "0"))
        .respond_with(page(&["a", "b"]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("offset", "2"))
        .respond_with(page(&["b", "a"]))
        .mount(&server)
        .await;
    let rows: Vec<_> = client(&server.uri())
        .paginate("/data/projects", &[], 2, None)
        .collect()
        .await;
    assert_eq!(rows.len(), 2);
    assert_eq!(hits(&server).await, 2);
}

/// Answers with headers, then one body byte every 100 ms, for ever.
async fn dripping_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                    .await;
                loop {
                    if sock.write_all(b" ").await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_listing_that_drips_hits_the_overall_deadline() {
    let base = dripping_server().await;
    let mut opts = ClientOptions::new(&base);
    opts.retry_no_delay = true;
    opts.timeout = Duration::from_secs(5);
    opts.request_deadline = Duration::from_secs(1);
    let started = Instant::now();
    let err = XnatClient::new(opts)
        .unwrap()
        .get_json("/data/projects", &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(err.to_string().contains("within 1s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}
