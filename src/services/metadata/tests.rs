use std::collections::BTreeMap;

use super::sheet::{parse, Format};
use super::*;

fn snap() -> Snapshot {
    let obj = |id: &str, label: &str, site: &str| Object {
        id: id.into(),
        label: label.into(),
        owner: "P".into(),
        subject_id: String::new(),
        xsi_type: String::new(),
        values: BTreeMap::from([
            ("id".to_string(), id.to_string()),
            ("label".to_string(), label.to_string()),
            ("dob".to_string(), "1970-01-02".to_string()),
            ("site".to_string(), site.to_string()),
            ("var:group".to_string(), "x".to_string()),
        ]),
    };
    Snapshot {
        level: Level::Subject,
        project: "P".into(),
        custom: vec!["site".into(), "var:group".into()],
        definitions: Vec::new(),
        objects: vec![
            obj("S1", "A", "1"),
            obj("S2", "B", "2"),
            obj("S3", "b", "3"),
        ],
    }
}

#[test]
fn excel_dates_compare_equal_to_the_servers_and_only_changed_cells_count() {
    let file = parse(
        b"label,dob,site\nA,01/02/1970,1\nS2_unused,,\n",
        Format::Csv,
    );
    let file = file.unwrap();
    let e = plan(&snap(), &file, false).unwrap_err().to_string();
    assert!(
        e.contains("line 3: no subject labelled 'S2_unused' in P"),
        "{e}"
    );
    let file = parse(b"id,dob,site,var:group\nS1,01/02/1970,9,x\n", Format::Csv).unwrap();
    let p = plan(&snap(), &file, false).unwrap();
    assert_eq!(p.changes.len(), 1);
    assert_eq!(
        (p.changes[0].field.as_str(), p.changes[0].new.as_str()),
        ("site", "9")
    );
}

#[test]
fn a_label_naming_two_objects_needs_the_id() {
    let file = parse(b"label,site\nB,5\n", Format::Csv).unwrap();
    let e = plan(&snap(), &file, false).unwrap_err().to_string();
    assert!(
        e.contains("line 2: label 'B' names several subjects in P; give the id"),
        "{e}"
    );
}

#[test]
fn normalize_date_reads_both_forms() {
    assert_eq!(normalize_date("3/2/2024"), "2024-03-02");
    assert_eq!(normalize_date("2024-03-02"), "2024-03-02");
    assert_eq!(normalize_date("2024-03-02 00:00:00.0"), "2024-03-02");
    assert_eq!(normalize_date("soon"), "soon");
}

#[test]
fn a_custom_variable_named_like_a_standard_field_gets_its_own_column() {
    assert_eq!(Level::Subject.column_of("group"), "var:group");
    assert_eq!(Level::Subject.column_of("site"), "site");
    assert_eq!(Level::Session.column_of("group"), "group");
}
