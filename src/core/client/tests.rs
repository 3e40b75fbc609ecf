//! Unit tests for client construction, auth headers and path handling.
use super::*;
use serde_json::json;

#[test]
fn typed_rows_read_envelopes_and_arrays_and_refuse_other_shapes() {
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct R {
        #[serde(rename = "ID")]
        id: String,
    }
    let env =
        br#"{"ResultSet":{"Result":[{"ID":"P1","URI":"/x"},{"ID":"P2"}], "totalRecords": "2"}}"#;
    assert_eq!(
        typed_rows::<R>(env),
        Some(vec![R { id: "P1".into() }, R { id: "P2".into() }])
    );
    assert_eq!(
        typed_rows::<R>(b" [{\"ID\":\"P3\"}]"),
        Some(vec![R { id: "P3".into() }])
    );
    // Shapes the typed rows cannot hold go to the generic path.
    for other in [
        &br#"{"ResultSet":{"Result":[{"ID":7}]}}"#[..],
        br#"{"ResultSet":{"Result":[{"ID":"P1"},"x"]}}"#,
        br#"{"ResultSet":{}}"#,
        br#"{"items":[]}"#,
        b"not json",
    ] {
        assert_eq!(typed_rows::<R>(other), None);
    }
}

#[test]
fn base_url_validation() {
    assert_eq!(
        validate_base_url(" https://h/xnat/ ").unwrap(),
        "https://h/xnat"
    );
    assert_eq!(validate_base_url("http://h:8080").unwrap(), "http://h:8080");
    for bad in ["ftp://h", "h.org", "", "https://h/?q=1", "http://"] {
        assert!(validate_base_url(bad).is_err(), "{bad}");
    }
    let e = validate_base_url("ftp://u:secret@h")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("secret"), "{e}");
}

#[test]
fn context_path_is_kept_when_joining() {
    let c = XnatClient::new(ClientOptions::new("https://h/xnat/")).unwrap();
    assert_eq!(
        c.url_for("/data/projects").unwrap().as_str(),
        "https://h/xnat/data/projects"
    );
    assert_eq!(
        c.url_for("data/x").unwrap().as_str(),
        "https://h/xnat/data/x"
    );
}

#[test]
fn rows_are_read_leniently() {
    let rs = json!({"ResultSet": {"Result": [{"ID": "a"}, 3, {"ID": "b"}]}});
    assert_eq!(rows_from(rs, None).len(), 2);
    assert_eq!(rows_from(json!([{"x": 1}, "s"]), None).len(), 1);
    assert!(rows_from(json!({"items": []}), None).is_empty());
    assert_eq!(
        rows_from(json!({"a": {"b": [{"x": 1}]}}), Some("a.b")).len(),
        1
    );
}

#[test]
fn debug_hides_secrets() {
    let mut o = ClientOptions::new("http://h");
    o.password = Some("hunter2".into());
    o.session_token = Some("TOKEN123".into());
    let text = format!("{o:?} {:?}", XnatClient::new(o.clone()).unwrap());
    assert!(
        !text.contains("hunter2") && !text.contains("TOKEN123"),
        "{text}"
    );
}

/// A server that answers one request on its first connection, then closes that connection
/// (FIN, then RST as a server does when it drops a connection with unread input), and answers
/// a login on the next connection.
fn closing_then_login_server() -> (String, std::thread::JoinHandle<usize>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let read_head = |s: &std::net::TcpStream| {
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut first = String::new();
            r.read_line(&mut first).unwrap();
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).unwrap() == 0 || l == "\r\n" {
                    break;
                }
            }
            first
        };
        let (mut s, _) = listener.accept().unwrap();
        read_head(&s);
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        s.shutdown(std::net::Shutdown::Write).unwrap();
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(s);
        let mut connections = 1;
        listener.set_nonblocking(false).unwrap();
        let (mut s, _) = listener.accept().unwrap();
        connections += 1;
        let first = read_head(&s);
        assert!(first.starts_with("POST /data/JSESSION"), "{first}");
        s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 32\r\n\r\nABCDEF0123456789ABCDEF0123456789",
        )
        .unwrap();
        connections
    });
    (url, handle)
}

#[tokio::test]
async fn a_login_on_a_pooled_connection_the_server_just_closed_is_sent_on_a_new_one() {
    let (url, server) = closing_then_login_server();
    let mut o = ClientOptions::new(&url);
    o.username = Some("u".into());
    o.password = Some("p".into());
    let c = XnatClient::new(o).unwrap();
    let resp = c
        .inner
        .http
        .get(format!("{url}/probe"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "ok");
    // Block the runtime so the pooled connection's task cannot notice the close before the
    // login picks the connection up: the window a busy machine opens by chance.
    std::thread::sleep(Duration::from_millis(200));
    let token = c.authenticate().await.unwrap();
    assert_eq!(token, "ABCDEF0123456789ABCDEF0123456789");
    assert_eq!(server.join().unwrap(), 2);
}
