//! Unit tests for `error`, kept in their own file so the module itself reads as the code it ships.

use super::*;

#[test]
fn exit_codes_follow_the_documented_vocabulary() {
    let cases: Vec<(Error, i32)> = vec![
        (Error::Config("x".into()), 1),
        (Error::usage("x"), 2),
        (Error::Auth("x".into()), 3),
        (Error::SessionExpired("u".into()), 3),
        (Error::Timeout("x".into()), 4),
        (
            Error::RetryExhausted {
                what: "GET /".into(),
                attempts: 4,
                last: "503".into(),
            },
            4,
        ),
        (Error::not_found("project", "P"), 5),
        (Error::PermissionDenied("x".into()), 6),
        (Error::Cancelled, 7),
        (
            Error::UpdateAvailable {
                current: "0.1.0".into(),
                latest: "0.2.0".into(),
            },
            100,
        ),
        (
            Error::Http {
                status: 500,
                method: "POST".into(),
                path: "/x".into(),
                body: String::new(),
            },
            1,
        ),
    ];
    for (err, code) in cases {
        assert_eq!(err.exit_code(), code, "{err}");
    }
}

#[test]
fn http_error_message_includes_first_body_line() {
    let e = Error::Http {
        status: 409,
        method: "PUT".into(),
        path: "/data/projects/P".into(),
        body: "\n  Already exists\nmore".into(),
    };
    assert_eq!(
        e.to_string(),
        "HTTP 409 on PUT /data/projects/P: Already exists"
    );
}

#[test]
fn label_hint_only_for_label_resolved_objects() {
    assert!(Error::not_found("session", "S").hint().is_some());
    assert!(Error::not_found("subject", "S").hint().is_some());
    assert_eq!(Error::not_found("saved search", "x").hint(), None);
    assert_eq!(Error::not_found("scan", "9").hint(), None);
    assert_eq!(Error::not_found("resource", "/data/x").hint(), None);
}

#[test]
fn naming_not_found_renames_only_bare_404s() {
    let bare = Error::not_found("resource", "/data/projects/NOPE/subjects");
    assert_eq!(
        bare.naming_not_found("project", "NOPE").to_string(),
        "project not found: NOPE"
    );
    let labelled = Error::not_found("resource", "NOTES");
    assert_eq!(
        labelled.naming_not_found("project", "P").to_string(),
        "resource not found: NOTES"
    );
    let other = Error::PermissionDenied("GET /x".into());
    assert_eq!(other.naming_not_found("project", "P").exit_code(), 6);
}

#[test]
fn http_error_message_takes_the_text_of_an_html_status_page() {
    let page = "<html>\n<head>\n   <title>Status page</title>\n</head>\n<body>\n<h3>Unable to parse XML: no root element</h3><p>You can get technical details <a href=\"x\">here</a>.<br>\n</p>\n</body>\n</html>\n";
    let e = Error::Http {
        status: 400,
        method: "POST".into(),
        path: "/data/projects/P".into(),
        body: page.into(),
    };
    assert_eq!(
        e.to_string(),
        "HTTP 400 on POST /data/projects/P: Unable to parse XML: no root element"
    );
    let bare = Error::Http {
        status: 500,
        method: "GET".into(),
        path: "/x".into(),
        body: "<html><head><title>Oops</title></head><body><p>\nboom\n</p></body></html>".into(),
    };
    assert_eq!(bare.to_string(), "HTTP 500 on GET /x: boom");
}

#[test]
fn an_upload_zip_failure_keeps_its_cause_and_its_message() {
    use std::error::Error as _;
    let e = Error::UploadZip {
        source: zip::result::ZipError::FileNotFound,
    };
    assert_eq!(
        e.to_string(),
        "upload failed: zip: specified file not found in archive"
    );
    assert!(e.source().is_some());
    assert_eq!(e.exit_code(), 1);
}

#[test]
fn wrapped_failures_keep_their_cause() {
    use std::error::Error as _;
    let zip_err = zip::ZipArchive::new(std::io::Cursor::new(b"not a zip".to_vec())).unwrap_err();
    let e = Error::Zip {
        context: "download failed: invalid ZIP file x.zip".into(),
        source: zip_err,
    };
    assert!(e.source().is_some(), "the zip error is the source");
    assert!(
        e.to_string()
            .starts_with("download failed: invalid ZIP file x.zip: "),
        "{e}"
    );
    assert_eq!(e.exit_code(), 1);
    let json_err = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
    let e = Error::Json {
        context: "serialising output",
        source: json_err,
    };
    assert!(e.source().is_some());
}

#[test]
fn a_403_hint_fits_what_was_refused() {
    let hint = |what: &str| Error::PermissionDenied(what.into()).hint();
    assert!(hint("DELETE /data/projects/P/subjects/S")
        .unwrap()
        .contains("role in the project"));
    assert!(hint("GET /xapi/events/subscriptions")
        .unwrap()
        .contains("site administrator"));
    assert_eq!(
        hint("cannot write to /usr/local/bin: run the upgrade as the binary's owner"),
        None
    );
}
