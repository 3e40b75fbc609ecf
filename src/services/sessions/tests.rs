//! Unit tests for `sessions`, kept in their own file so the module itself reads as the code it ships.

use super::*;
use regex::Regex;
use serde_json::json;

fn row(id: &str, label: &str, subj: &str, xsi: &str, date: &str, time: &str) -> Row {
    json!({"ID": id, "label": label, "subject_label": subj, "xsiType": xsi, "date": date, "time": time})
            .as_object()
            .unwrap()
            .clone()
}

#[test]
fn plans_visits_sessions_and_skips() {
    let rows = vec![
        row("E1", "a", "S1", "xnat:mrSessionData", "2020-01-02", "10:00"),
        row(
            "E2",
            "b",
            "S1",
            "xnat:mrSessionData",
            "2020-01-02",
            "09:00:00",
        ),
        row("E3", "c", "S1", "xnat:mrSessionData", "2019/12/31", ""),
        row("E4", "d", "S1", "xnat:fooSessionData", "2020-01-02", ""),
        row("E5", "e", "", "xnat:mrSessionData", "2020-01-02", ""),
        row("E6", "f", "S2", "xnat:petSessionData", "", ""),
        row(
            "E7",
            "S2_01_SE01_CT",
            "S2",
            "xnat:ctSessionData",
            "20200101",
            "",
        ),
    ];
    let p = plan(&rows, None);
    let got: Vec<(&str, &str)> = p
        .renames
        .iter()
        .map(|r| (r.from.as_str(), r.to.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("c", "S1_01_SE01_MR"),
            ("b", "S1_02_SE01_MR"),
            ("a", "S1_02_SE02_MR")
        ]
    );
    let skipped: Vec<(&str, &str)> = p
        .skipped
        .iter()
        .map(|s| (s.label.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        vec![
            ("d", "unknown modality from xsiType"),
            ("e", "row missing subject_label"),
            ("f", "missing date"),
        ]
    );
}

#[test]
fn vacated_targets_are_ordered_and_cycles_refused() {
    // b must move away from S1_01_SE02_MR... a takes S1_01_SE01_MR held by b, b moves on.
    let rows = vec![
        row("E1", "x", "S1", "xnat:mrSessionData", "2020-01-01", "08:00"),
        row(
            "E2",
            "S1_01_SE01_MR",
            "S1",
            "xnat:mrSessionData",
            "2020-01-01",
            "09:00",
        ),
        row(
            "E3",
            "S9_01_SE01_MR",
            "S9",
            "xnat:ctSessionData",
            "2020-01-01",
            "",
        ),
        row(
            "E4",
            "S9_01_SE01_CT",
            "S8",
            "xnat:mrSessionData",
            "2020-01-01",
            "",
        ),
    ];
    let p = plan(&rows, None);
    let got: Vec<(&str, &str)> = p
        .renames
        .iter()
        .map(|r| (r.from.as_str(), r.to.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("S1_01_SE01_MR", "S1_01_SE02_MR"),
            ("x", "S1_01_SE01_MR"),
            ("S9_01_SE01_CT", "S8_01_SE01_MR"),
            ("S9_01_SE01_MR", "S9_01_SE01_CT"),
        ]
    );
    // A permanent holder refuses the rename.
    let rows = vec![
        row("E1", "x", "S1", "xnat:mrSessionData", "2020-01-01", ""),
        row(
            "E2",
            "S1_01_SE01_MR",
            "S1",
            "xnat:otherSessionData",
            "2020-01-01",
            "",
        ),
    ];
    let p = plan(&rows, Some(&Regex::new("^S1$").unwrap()));
    assert!(p.renames.is_empty());
    assert_eq!(
        p.skipped.last().unwrap().reason,
        "target label exists: S1_01_SE01_MR"
    );
}

#[test]
fn modality_options() {
    assert_eq!(normalize_modality("oct").unwrap(), "OPT");
    assert_eq!(normalize_modality(" mr ").unwrap(), "MR");
    assert!(normalize_modality(" ").is_err());
}

#[test]
fn an_outcome_prints_failed_renames_and_skips_as_rows_and_quiet_prints_only_ids() {
    use crate::core::output::{OutputFormat, OutputOptions, Printer, Report};
    let rename = |id: &str| Rename {
        id: id.into(),
        from: format!("{id}_old"),
        to: format!("{id}_new"),
    };
    let outcome = Outcome {
        dry_run: false,
        renames: vec![rename("E1"), rename("E2")],
        skipped: vec![Skip {
            label: "odd".into(),
            reason: "no date".into(),
        }],
        failed: vec![Failed {
            id: "E2".into(),
            from: "E2_old".into(),
            to: "E2_new".into(),
            error: "boom".into(),
        }],
    };
    let actions: Vec<(&str, String)> = outcome
        .rows()
        .into_iter()
        .map(|r| (r.action, r.reason))
        .collect();
    assert_eq!(
        actions,
        [
            ("rename", String::new()),
            ("failed", "boom".to_string()),
            ("skip", "no date".to_string())
        ]
    );
    let (mut p, buf) = Printer::buffer(OutputOptions {
        format: OutputFormat::Table,
        quiet: true,
        ..OutputOptions::default()
    });
    p.report(&outcome).unwrap();
    assert_eq!(buf.stdout(), "E1\nE2\n");
}
