//! Unit tests for `subjects`, kept in their own file so the module itself reads as the code it ships.

use super::*;
use serde_json::json;

#[test]
fn pairs_split_at_first_equals_and_reject_duplicates() {
    let p = parse_assignments(&["a=1=2".into(), "b=".into()]).unwrap();
    assert_eq!(p, [("a".into(), "1=2".into()), ("b".into(), String::new())]);
    for bad in [
        vec!["=x"],
        vec!["a=1", "a=2"],
        vec!["novalue"],
        vec!["bad name=1"],
    ] {
        let raw: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
        assert!(parse_assignments(&raw).is_err(), "{bad:?}");
    }
}

#[test]
fn vars_come_from_field_children() {
    let doc = json!({"items": [{"children": [
        {"field": "fields/field", "items": [{"data_fields": {"name": "age", "field": "42"}}]},
        {"field": "sharing/share", "items": [{"data_fields": {"project": "X"}}]}
    ]}]});
    assert_eq!(
        vars_of(&doc),
        [Var {
            name: "age".into(),
            value: "42".into()
        }]
    );
}

#[test]
fn unshare_refuses_the_primary_project() {
    let r = Resolved {
        id: "S1".into(),
        label: "L".into(),
        project: "Proj".into(),
        doc: Value::Null,
    };
    assert!(check_unshare(&r, "proj").is_err());
    assert_eq!(check_unshare(&r, "Other").unwrap(), "Other");
}
