//! Unit tests for `experiments`, kept in their own file so the module itself reads as the code it ships.

use super::*;
use serde_json::json;

#[test]
fn scan_parent_follows_the_routing_rule() {
    type Case<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
        bool,
        Option<&'a str>,
    );
    let cases: &[Case] = &[
        (None, None, "E1", false, Some("/data/experiments/E1")),
        (
            Some("P"),
            None,
            "XNAT_E01",
            true,
            Some("/data/experiments/XNAT_E01"),
        ),
        (Some("P"), None, "E1", false, Some("/data/experiments/E1")),
        (Some("P"), None, "sess 1", true, None),
        (
            Some("P"),
            Some("S"),
            "lbl",
            true,
            Some("/data/projects/P/subjects/S/experiments/lbl"),
        ),
    ];
    for (p, s, e, is_label, want) in cases {
        let got = scan_parent_path(*p, *s, e, *is_label).unwrap();
        assert_eq!(got.as_deref(), *want, "{p:?} {s:?} {e} {is_label}");
    }
}

#[test]
fn accession_shape() {
    assert!(looks_like_accession_id("XNAT_E00001"));
    assert!(looks_like_accession_id("CENTRAL02_E7"));
    assert!(!looks_like_accession_id("xnat_E1"));
    assert!(!looks_like_accession_id("XNAT_S00001"));
    assert!(!looks_like_accession_id("XNAT_E1x"));
}

#[test]
fn detail_parses_items_and_keeps_odd_dates() {
    let doc = json!({"items":[{"meta":{"xsi:type":"xnat:petSessionData"},
            "data_fields":{"ID":"X_E1","label":"L","project":"P","subject_ID":"X_S1","date":"17/12/2020"},
            "children":[{"field":"fields/field","items":[{"data_fields":{"name":"a","field":"1"}}]}]}]});
    let e = parse_detail(&doc).unwrap();
    assert_eq!(e.id, "X_E1");
    assert_eq!(e.date.as_deref(), Some("17/12/2020"));
    assert_eq!(e.modality.as_deref(), Some("PET"));
    assert_eq!(e.scan_xsi_type().as_deref(), Some("xnat:petScanData"));
    assert_eq!(
        custom_fields(&doc),
        vec![("a".to_string(), "1".to_string())]
    );
    assert_eq!(
        e.path().unwrap(),
        "/data/projects/P/subjects/X_S1/experiments/X_E1"
    );
    assert!(parse_detail(&json!({"items": []})).is_none());
}

#[test]
fn relative_path_comes_from_the_uri() {
    let f = FileRow {
        name: "b.dcm".into(),
        size: Some(1),
        uri: "/data/experiments/E/resources/12/files/sub%20dir/b.dcm".into(),
        digest: String::new(),
        collection: "DICOM".into(),
    };
    assert_eq!(f.relative_path(), "sub dir/b.dcm");
}
