//! `doctor`: each problem named with its fix; exit 0 when nothing fails.

use serde_json::Value;
use xnat_sim::SimConfig;

use crate::support::{insta_settings, stderr_of, stdout_of, TestEnv};

fn doctor(env: &TestEnv, url: &str) -> (Vec<Value>, i32, String) {
    let out = env
        .bare_cmd()
        .env("XNAT_URL", url)
        .env("XNAT_USER", "admin")
        .env("XNAT_PASS", "admin")
        .args(["doctor", "-o", "json"])
        .output()
        .unwrap();
    let rows: Vec<Value> = serde_json::from_str(&stdout_of(&out))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout_of(&out), stderr_of(&out)));
    (rows, out.status.code().unwrap(), stderr_of(&out))
}

fn row<'a>(rows: &'a [Value], check: &str) -> &'a Value {
    rows.iter().find(|r| r["check"] == check).unwrap()
}

#[test]
fn a_healthy_profile_passes_every_check_in_order() {
    let env = TestEnv::demo();
    let (rows, code, err) = doctor(&env, &env.url());
    assert_eq!(code, 0, "{err}");
    let order: Vec<&str> = rows.iter().map(|r| r["check"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        [
            "url",
            "tls",
            "proxy",
            "credentials",
            "project",
            "version",
            "clock"
        ]
    );
    assert!(rows.iter().all(|r| r["status"] != "fail"), "{rows:?}");
    assert_eq!(row(&rows, "credentials")["status"], "ok");
    assert!(row(&rows, "credentials")["detail"]
        .as_str()
        .unwrap()
        .contains("logged in as admin"));
    assert_eq!(row(&rows, "clock")["status"], "ok");
    // The table: one line per check.
    let out = env
        .cmd()
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .args(["doctor"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut s = insta_settings(&env);
    s.add_filter(r"XNAT \d+\.\d+[^\s│|]*", "XNAT [VERSION]");
    s.add_filter(r"within \d+s", "within [N]s");
    s.bind(|| insta::assert_snapshot!("doctor_table", stdout_of(&out)));
}

#[test]
fn a_missing_context_path_is_found_by_probing() {
    let env = TestEnv::with(SimConfig {
        context_path: Some("/xnat".into()),
        ..SimConfig::demo()
    });
    assert!(env.url().ends_with("/xnat"));
    let root = env.url().trim_end_matches("/xnat").to_string();
    let (rows, code, _) = doctor(&env, &root);
    assert_eq!(code, 1);
    let url = row(&rows, "url");
    assert_eq!(url["status"], "fail");
    assert!(
        url["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("there is one at {root}/xnat")),
        "{url}"
    );
    assert_eq!(url["fix"], format!("set XNAT_URL={root}/xnat").as_str());

    // At the right address everything works, the client included.
    let (rows, code, err) = doctor(&env, &env.url());
    assert_eq!(code, 0, "{err} {rows:?}");
    let out = env.cmd().args(["project", "list", "-q"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains("DEMO_MR"));
}

#[test]
fn a_guest_session_is_called_out() {
    let env = TestEnv::demo();
    env.sim.with_state_mut(|st| st.guest_sessions = true);
    let out = env
        .bare_cmd()
        .env("XNAT_URL", env.url())
        .env("XNAT_TOKEN", "0123456789ABCDEF0123456789ABCDEF")
        .args(["doctor", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let rows: Vec<Value> = serde_json::from_str(&stdout_of(&out)).unwrap();
    let c = row(&rows, "credentials");
    assert_eq!(c["status"], "fail");
    assert!(c["detail"].as_str().unwrap().contains("guest user"), "{c}");
}

#[test]
fn no_credentials_an_unknown_project_and_an_unreachable_server_are_named() {
    let env = TestEnv::demo();
    let out = env
        .bare_cmd()
        .env("XNAT_URL", env.url())
        .args(["doctor", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let rows: Vec<Value> = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(
        row(&rows, "credentials")["detail"],
        "no credentials for this profile"
    );

    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        env.config_file(),
        format!(
            "version: 1\nprofiles:\n  default:\n    url: {}\n    default_project: NOPE\n",
            env.url()
        ),
    )
    .unwrap();
    let out = env
        .bare_cmd()
        .env("XNAT_USER", "admin")
        .env("XNAT_PASS", "admin")
        .args(["doctor", "-o", "json"])
        .output()
        .unwrap();
    let rows: Vec<Value> = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(out.status.code(), Some(1), "{rows:?}");
    let p = row(&rows, "project");
    assert_eq!(p["status"], "fail");
    assert!(p["detail"].as_str().unwrap().contains("NOPE"), "{p}");

    let (rows, code, _) = doctor(&env, "http://127.0.0.1:9");
    assert_eq!(code, 1);
    assert_eq!(row(&rows, "url")["status"], "fail");
    assert_eq!(row(&rows, "credentials")["status"], "skip");
}

/// An HTTPS server whose certificate is signed by the test CA in `fixtures/tls` (made once with
/// openssl: an EC CA, and a server certificate for 127.0.0.1/localhost). It answers XNAT's open
/// build-information service and 401 to everything else. Returns its base URL.
fn tls_server() -> String {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls::{self, ServerConfig};

    let dir = fixtures_tls();
    let certs = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = vec![0u8; 8192];
                    let mut got = Vec::new();
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&got);
                    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT");
                    let (status, body) = if head.starts_with("GET /xapi/siteConfig/buildInfo") {
                        ("200 OK", r#"{"version":"1.9.0"}"#)
                    } else {
                        ("401 Unauthorized", "")
                    };
                    let resp = format!(
                        "HTTP/1.1 {status}\r\nDate: {date}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(resp.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
    });
    format!("https://127.0.0.1:{}", addr.port())
}

fn fixtures_tls() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/tls")
}

#[test]
fn a_certificate_from_an_unknown_ca_is_named_with_the_ca_bundle_fix() {
    let env = TestEnv::empty();
    let url = tls_server();
    let (rows, code, _) = doctor(&env, &url);
    assert_eq!(code, 1);
    let tls = row(&rows, "tls");
    assert_eq!(tls["status"], "fail", "{rows:?}");
    assert!(
        tls["detail"]
            .as_str()
            .unwrap()
            .contains("self-signed or an unknown CA"),
        "{tls}"
    );
    assert!(tls["fix"].as_str().unwrap().contains("ca_bundle"), "{tls}");
    // The URL was still probed (without verification) and is right.
    assert_eq!(row(&rows, "url")["status"], "ok", "{rows:?}");

    // With the site's CA as the profile's ca_bundle, TLS passes.
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        env.config_file(),
        format!(
            "version: 1\nprofiles:\n  default:\n    url: {url}\n    ca_bundle: {}\n",
            fixtures_tls().join("ca.pem").display()
        ),
    )
    .unwrap();
    let out = env
        .bare_cmd()
        .args(["doctor", "-o", "json"])
        .output()
        .unwrap();
    let rows: Vec<Value> = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(row(&rows, "tls")["status"], "ok", "{rows:?}");
    assert_eq!(row(&rows, "version")["detail"], "XNAT 1.9.0");
}

/// A plain-http server that redirects everything to the same path on `https://HOST` (as a site
/// that moved to https does).
fn redirecting_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]);
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let _ = write!(
                s,
                "HTTP/1.1 301 Moved Permanently\r\nLocation: https://xnat.example.org{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[test]
fn a_redirect_to_https_is_named_with_the_url_to_use() {
    let env = TestEnv::empty();
    let (rows, code, _) = doctor(&env, &redirecting_server());
    assert_eq!(code, 1);
    let url = row(&rows, "url");
    assert_eq!(url["status"], "fail", "{rows:?}");
    assert!(
        url["detail"]
            .as_str()
            .unwrap()
            .contains("redirects to https (https://xnat.example.org)"),
        "{url}"
    );
    assert!(
        url["fix"]
            .as_str()
            .unwrap()
            .starts_with("set XNAT_URL=https://xnat.example.org "),
        "{url}"
    );
}
