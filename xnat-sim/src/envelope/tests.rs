//! Unit tests for the byte-exact ResultSet envelope and error bodies.
use super::*;

#[test]
fn result_set_bytes() {
    let rs = ResultSet::new(vec![row([("ID", "P1"), ("URI", "/data/projects/P1")])]).with_total();
    assert_eq!(
        rs.to_json_string(),
        r#"{"ResultSet":{"Result":[{"ID":"P1","URI":"/data/projects/P1"}], "totalRecords": "1"}}"#
    );
    let rs = ResultSet::new(vec![])
        .meta("title", "Resources")
        .with_total();
    assert_eq!(
        rs.to_json_string(),
        r#"{"ResultSet":{"Result":[], "title": "Resources","totalRecords": "0"}}"#
    );
    let rs = ResultSet::new(vec![]);
    assert_eq!(rs.to_json_string(), r#"{"ResultSet":{"Result":[]}}"#);
}

#[test]
fn json_strings_match_serde_json() {
    let samples = [
        "",
        "plain",
        "quote \" back \\ slash",
        "ctl \u{0}\u{1}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f}\u{7f} end",
        "non-ascii é 日本 / </script>",
    ];
    for s in samples {
        let mut out = String::new();
        push_json_str(&mut out, s);
        assert_eq!(out, serde_json::to_string(s).unwrap());
    }
}

#[test]
fn flat_table_bytes_match_rows() {
    let t = Table {
        keys: vec!["ID".into(), "name".into(), "URI".into()],
        text: "P1A \"x\"/data/projects/P1P2B/data/projects/P2".into(),
        spans: vec![(0, 2), (2, 7), (7, 24), (24, 26), (26, 27), (27, 44)],
        order: vec![1, 0],
    };
    let flat = ResultSet {
        table: Some(t),
        ..Default::default()
    }
    .with_total();
    let rows = ResultSet::new(vec![
        row([("ID", "P2"), ("name", "B"), ("URI", "/data/projects/P2")]),
        row([
            ("ID", "P1"),
            ("name", "A \"x\""),
            ("URI", "/data/projects/P1"),
        ]),
    ])
    .with_total();
    assert_eq!(flat.to_json_string(), rows.to_json_string());
    assert_eq!(flat.to_csv(), rows.to_csv());
    assert_eq!(flat.to_xml(), rows.to_xml());
    assert_eq!(
        rows.to_json_string(),
        r#"{"ResultSet":{"Result":[{"ID":"P2","name":"B","URI":"/data/projects/P2"},{"ID":"P1","name":"A \"x\"","URI":"/data/projects/P1"}], "totalRecords": "2"}}"#
    );
}

#[test]
fn restlet_page_has_h3() {
    let p = restlet_page(StatusCode::CONFLICT, "Already assigned to project:P2");
    assert!(p.contains("<h3>Already assigned to project:P2</h3>"));
    assert!(p.starts_with("<html>\n<head>\n   <title>Status page</title>"));
}
