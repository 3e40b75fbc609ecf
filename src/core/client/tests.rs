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
