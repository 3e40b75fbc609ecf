//! Unit tests for the project service: typed listing rows and the create XML.
use super::*;

#[test]
fn listing_rows_read_the_server_columns() {
    let long = "é".repeat(60);
    let doc = format!(
        r#"[{{"ID":"P1","name":"One","pi_lastname":"Smith","description":"{long}","URI":"/data/projects/P1"}},{{"ID":"P2","name":null}}]"#
    );
    let rows: Vec<ProjectRow> = serde_json::from_str(&doc).unwrap();
    assert_eq!(
        rows,
        vec![
            ProjectRow {
                id: "P1".into(),
                name: "One".into(),
                pi: "Smith".into(),
                description: "é".repeat(50),
            },
            ProjectRow {
                id: "P2".into(),
                name: String::new(),
                pi: String::new(),
                description: String::new(),
            },
        ]
    );
    assert_eq!(first_chars("abc".into(), 50), "abc");
    assert_eq!(first_chars("abcdef".into(), 3), "abc");
}

#[test]
fn create_xml_escapes_every_value() {
    let p = NewProject {
        id: "P1".into(),
        name: Some("R&D <\"x\">".into()),
        description: Some("a & b".into()),
        pi: Some("O'Neil".into()),
        accessibility: "private".into(),
    };
    let xml = p.to_xml();
    assert!(xml.contains("<xnat:name>R&amp;D &lt;&quot;x&quot;&gt;</xnat:name>"));
    assert!(xml.contains("<xnat:description>a &amp; b</xnat:description>"));
    assert!(xml.contains("<xnat:lastname>O&apos;Neil</xnat:lastname>"));
    let bare = NewProject {
        name: None,
        description: None,
        pi: None,
        ..p
    };
    assert!(bare
        .to_xml()
        .contains("<xnat:name>P1</xnat:name>\n</xnat:Project>"));
}

#[test]
fn fetch_pages_only_without_filter_or_sort() {
    assert_eq!(Fetch::for_controls(true, Some(5)), Fetch::Whole);
    assert_eq!(
        Fetch::for_controls(false, Some(5)),
        Fetch::Paged { max: Some(5) }
    );
}

#[test]
fn roles_and_levels_are_checked() {
    assert_eq!(validate_role("Owner").unwrap(), "owner");
    assert_eq!(validate_role("admin").unwrap_err().exit_code(), 2);
    assert_eq!(validate_accessibility("PUBLIC").unwrap(), "public");
    assert!(validate_accessibility("open").is_err());
}
