//! Unit tests for `files`, kept in their own file so the module itself reads as the code it ships.

use super::*;

#[test]
fn parses_parent_shapes() {
    let (p, t) =
        parse_path("/data/projects/P1/subjects/S1/experiments/E1/scans/1,2/files").unwrap();
    assert_eq!(p.project.as_deref(), Some("P1"));
    assert_eq!(p.subject.as_deref(), Some("S1"));
    assert_eq!(p.experiment.as_deref(), Some("E1"));
    assert_eq!(p.scan.as_deref(), Some("1,2"));
    assert_eq!(t, Tail::Files);
    let (p, t) = parse_path("/data/experiments/E1/resources/NOTES/files/a/b%20c.txt").unwrap();
    assert_eq!(p.experiment.as_deref(), Some("E1"));
    assert_eq!(t, Tail::ResourceFile("NOTES".into(), "a/b c.txt".into()));
    assert_eq!(
        parse_path("/data/projects/P1/resources").unwrap().1,
        Tail::Resources
    );
    assert_eq!(parse_path("/data/experiments/E1").unwrap().1, Tail::None);
    assert!(parse_path("/data/projects/P1/bogus").is_none());
}

#[test]
fn sanitizes_and_guards_paths() {
    assert_eq!(sanitize_type("T1 MPRAGE"), "T1_MPRAGE");
    assert_eq!(sanitize_type("dwi-64/b1000"), "dwi_64_b1000");
    assert_eq!(safe_rel("a//./b.dcm").as_deref(), Some("a/b.dcm"));
    assert_eq!(safe_rel("../etc/passwd"), None);
    assert_eq!(content_type_for("x.TXT"), "text/plain");
    assert_eq!(content_type_for("1.dcm"), "application/octet-stream");
}
