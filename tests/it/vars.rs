//! `vars export` / `vars apply`: the spreadsheet round-trip against the simulator's custom
//! variables (lower-cased names, text values whatever the variable set says, empty values not
//! clearing), with request counts read from the request log.

use std::path::PathBuf;

use xnat_sim::state::{FieldDefinition, VariableSet};
use xnat_sim::{GenerateSpec, SimConfig};

use crate::support::{count_requests, stderr_of, stdout_of, TestEnv};

const P: &str = "GEN00001";

/// One generated project of `subjects` subjects (one session each), each subject with `site`
/// and `score` set, and a variable set declaring `score` an integer and `arm` one of A/B.
fn project(subjects: u64) -> TestEnv {
    let config = SimConfig {
        generate: Some(GenerateSpec {
            projects: 1,
            subjects,
            sessions: 1,
            ..GenerateSpec::default()
        }),
        ..SimConfig::default()
    };
    let env = TestEnv::with(config);
    env.sim.with_state_mut(|st| {
        for (i, s) in st.subjects.values_mut().enumerate() {
            s.fields
                .insert("site".into(), if i % 2 == 0 { "A" } else { "B" }.into());
            s.fields.insert("score".into(), format!("{i}"));
        }
        for e in st.experiments.values_mut() {
            e.fields.insert("qc".into(), "pass".into());
        }
        let mut arm = FieldDefinition::new("arm", "string");
        arm.possible_values = vec!["A".into(), "B".into()];
        st.projects
            .get_mut(P)
            .unwrap()
            .variable_sets
            .push(VariableSet {
                id: "trial".into(),
                data_type: "xnat:subjectData".into(),
                fields: vec![FieldDefinition::new("score", "integer"), arm],
            });
    });
    env
}

fn file(env: &TestEnv, name: &str) -> PathBuf {
    env.home.path().join(name)
}

fn field(env: &TestEnv, label: &str, name: &str) -> Option<String> {
    env.sim.with_state(|st| {
        st.subjects
            .values()
            .find(|s| s.label == label)
            .and_then(|s| s.fields.get(name).cloned())
    })
}

fn label(i: u64) -> String {
    format!("{P}_S{i:04}")
}

#[test]
fn export_lists_every_subject_with_set_and_free_variables_in_two_requests() {
    let env = project(3);
    let out = file(&env, "subjects.csv");
    env.clear_requests();
    let o = env
        .cmd()
        .args(["vars", "export", "-P", P, "--level", "subject", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        csv,
        "id,label,group,src,gender,handedness,yob,dob,score,arm,site\n\
         XNAT_S00001,GEN00001_S0001,,,,,,,0,,A\n\
         XNAT_S00002,GEN00001_S0002,,,,,,,1,,B\n\
         XNAT_S00003,GEN00001_S0003,,,,,,,2,,A\n"
    );
    assert_eq!(
        env.request_lines()
            .iter()
            .filter(|l| l.starts_with("GET /data/projects"))
            .count(),
        2
    );
    assert!(stderr_of(&o).contains("Wrote 3 subject(s) x 11 column(s) of GEN00001"));
}

#[test]
fn export_filters_on_a_var_column_whose_name_holds_a_colon() {
    let env = project(3);
    // A subject variable named like the standard `group` column is exported as `var:group`.
    env.sim.with_state_mut(|st| {
        for (i, s) in st.subjects.values_mut().enumerate() {
            s.fields
                .insert("group".into(), ["ctl", "pat:1", "pat:2"][i].into());
        }
    });
    let out = file(&env, "g.csv");
    let o = env
        .cmd()
        .args(["vars", "export", "-P", P, "--level", "subject"])
        .args([
            "--columns",
            "var:group",
            "--filter",
            "var:group:pat:*",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "id,label,var:group\n\
         XNAT_S00002,GEN00001_S0002,pat:1\n\
         XNAT_S00003,GEN00001_S0003,pat:2\n"
    );
}

#[test]
fn export_filters_rows_and_chooses_columns_in_json_and_tsv() {
    let env = project(4);
    let json = file(&env, "s.json");
    let o = env
        .cmd()
        .args(["vars", "export", "-P", P, "--level", "session"])
        .args(["--columns", "qc,date", "--filter", "label:*S0002*", "--out"])
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(
        doc,
        serde_json::json!([{"id": "XNAT_E00002", "label": "GEN00001_S0002_MR1", "qc": "pass",
                            "date": "2024-03-01"}])
    );
    let tsv = file(&env, "s.tsv");
    let o = env
        .cmd()
        .args([
            "vars",
            "export",
            "-P",
            P,
            "--level",
            "subject",
            "--columns",
            "site",
        ])
        .arg("--out")
        .arg(&tsv)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(&tsv).unwrap();
    assert_eq!(text.lines().next(), Some("id\tlabel\tsite"));
    assert_eq!(text.lines().count(), 5);
    let o = env
        .cmd()
        .args([
            "vars",
            "export",
            "-P",
            P,
            "--level",
            "subject",
            "--columns",
            "nope",
        ])
        .arg("--out")
        .arg(&tsv)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_of(&o).contains("unknown column 'nope'"));
}

#[test]
fn round_trip_of_200_subjects_edits_20_cells_with_20_puts_and_a_second_apply_is_a_no_op() {
    let env = project(200);
    let out = file(&env, "all.csv");
    let o = env
        .cmd()
        .args(["vars", "export", "-P", P, "--level", "subject", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    // Edit 20 cells of 20 subjects: 10 scores, 10 sites.
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    for i in 1..=20usize {
        let mut cells: Vec<String> = lines[i * 5].split(',').map(str::to_string).collect();
        if i % 2 == 0 {
            cells[8] = format!("{}", 1000 + i);
        } else {
            cells[10] = "C".into();
        }
        lines[i * 5] = cells.join(",");
    }
    std::fs::write(&out, lines.join("\n") + "\n").unwrap();
    env.clear_requests();
    let o = env
        .cmd()
        .args(["vars", "apply", "-P", P, "-y", "-o", "json"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(count_requests(&env, "PUT "), 20);
    assert_eq!(count_requests(&env, "GET "), 3, "{:?}", env.request_lines());
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.len(), 20);
    assert!(rows.iter().all(|r| r["status"] == "success"));
    assert_eq!(field(&env, &label(10), "score").as_deref(), Some("1002"));
    assert_eq!(field(&env, &label(5), "site").as_deref(), Some("C"));
    assert!(
        stderr_of(&o).contains("Changed 20 value(s) on 20 subject(s); re-read: every value kept")
    );
    env.clear_requests();
    let o = env
        .cmd()
        .args(["vars", "apply", "-P", P, "-y", "-o", "json"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout_of(&o), "[]\n");
    assert_eq!(count_requests(&env, "PUT "), 0);
    assert!(stderr_of(&o).contains("Nothing to change: the 200 row(s)"));
}

#[test]
fn excel_csv_with_bom_crlf_and_semicolons_applies_by_label_and_adds_new_variables() {
    let env = project(3);
    let path = file(&env, "excel.csv");
    std::fs::write(
        &path,
        b"\xEF\xBB\xBFlabel;Site;Arm;New_Var\r\nGEN00001_S0001;B;A;x y\r\nGEN00001_S0003;A;;\r\n;;;\r\n",
    )
    .unwrap();
    let o = env
        .cmd()
        .args(["vars", "apply", "-P", P, "-y"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr_of(&o).contains("line 1: unknown column 'New_Var'"),
        "{}",
        stderr_of(&o)
    );
    assert_eq!(count_requests(&env, "PUT "), 0);
    let o = env
        .cmd()
        .args(["vars", "apply", "-P", P, "-y", "--add-vars", "-o", "tsv"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(
        stdout_of(&o),
        "object\tfield\told\tnew\tstatus\terror\n\
         GEN00001_S0001\tsite\tA\tB\tsuccess\t\n\
         GEN00001_S0001\tarm\t\tA\tsuccess\t\n\
         GEN00001_S0001\tnew_var\t\tx y\tsuccess\t\n"
    );
    // XNAT stores custom field names lower-cased.
    assert_eq!(field(&env, &label(1), "new_var").as_deref(), Some("x y"));
    assert_eq!(count_requests(&env, "PUT "), 1);
}

#[test]
fn a_value_the_server_does_not_keep_is_reported_per_field_with_exit_1() {
    let env = project(2);
    let path = file(&env, "clear.csv");
    std::fs::write(&path, "id,site,score\nXNAT_S00001,,7\n").unwrap();
    let o = env
        .cmd()
        .args(["vars", "apply", "-P", P, "-y", "-o", "json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        rows,
        serde_json::json!([
            {"object": "GEN00001_S0001", "id": "XNAT_S00001", "field": "site", "old": "A",
             "new": "", "status": "failed",
             "error": "not kept: the server still has 'A' (XNAT does not clear a value over REST)"},
            {"object": "GEN00001_S0001", "id": "XNAT_S00001", "field": "score", "old": "0",
             "new": "7", "status": "success", "error": null}
        ])
    );
    let err = stderr_of(&o);
    assert!(
        err.contains("warning: GEN00001_S0001 site: not kept"),
        "{err}"
    );
    assert!(err.contains("1 of 2 items failed"), "{err}");
    assert_eq!(field(&env, &label(1), "score").as_deref(), Some("7"));
}

#[test]
fn malformed_files_name_their_lines_and_write_nothing() {
    let env = project(3);
    let path = file(&env, "bad.csv");
    std::fs::write(
        &path,
        "id,label,score\nXNAT_S00001,GEN00001_S0001,5\nXNAT_S09999,,1\nXNAT_S00001,,6\n\
         XNAT_S00002,WRONG,1\n",
    )
    .unwrap();
    let o = env
        .cmd()
        .args(["vars", "apply", "-P", P, "-y"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr_of(&o);
    for want in [
        "line 3: no subject with id 'XNAT_S09999' in GEN00001",
        "line 4: subject GEN00001_S0001 is already on line 2",
        "line 5: subject XNAT_S00002 is labelled 'GEN00001_S0002' in GEN00001, the file says 'WRONG'",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }
    assert_eq!(count_requests(&env, "PUT "), 0);
    assert_eq!(field(&env, &label(1), "score").as_deref(), Some("0"));
}

#[test]
fn dry_run_shows_the_diff_and_warns_about_values_the_variable_set_refuses() {
    let env = project(2);
    let path = file(&env, "typed.json");
    std::fs::write(
        &path,
        r#"[{"id": "XNAT_S00002", "score": "high", "arm": "C", "site": "B"}]"#,
    )
    .unwrap();
    let o = env
        .cmd()
        .args(["vars", "apply", "-P", P, "--dry-run"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout_of(&o),
        "┌────────────────┬───────┬─────┬──────┬─────────┬───────┐\n\
         │ Object         ┆ Field ┆ Old ┆ New  ┆ Status  ┆ Error │\n\
         ╞════════════════╪═══════╪═════╪══════╪═════════╪═══════╡\n\
         │ GEN00001_S0002 ┆ score ┆ 1   ┆ high ┆ dry_run ┆       │\n\
         │ GEN00001_S0002 ┆ arm   ┆     ┆ C    ┆ dry_run ┆       │\n\
         └────────────────┴───────┴─────┴──────┴─────────┴───────┘\n"
    );
    let err = stderr_of(&o);
    assert!(
        err.contains("entry 1: GEN00001_S0002.score = 'high' is not of type integer"),
        "{err}"
    );
    assert!(
        err.contains("GEN00001_S0002.arm = 'C' is not one of A, B"),
        "{err}"
    );
    assert_eq!(count_requests(&env, "PUT "), 0);
}

#[test]
fn session_level_apply_writes_custom_and_standard_fields_of_each_session() {
    let env = project(2);
    let path = file(&env, "sessions.csv");
    std::fs::write(
        &path,
        "id,subject,date,qc\nXNAT_E00001,GEN00001_S0001,03/02/2024,fail\nXNAT_E00002,GEN00001_S0002,2024-03-01,pass\n",
    )
    .unwrap();
    env.clear_requests();
    let o = env
        .cmd()
        .args(["vars", "apply", "-P", P, "-y", "-o", "json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let fields: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["field"].as_str().unwrap(), r["new"].as_str().unwrap()))
        .collect();
    assert_eq!(fields, [("date", "2024-03-02"), ("qc", "fail")]);
    assert_eq!(count_requests(&env, "PUT "), 1);
    let (date, qc) = env.sim.with_state(|st| {
        let e = &st.experiments["XNAT_E00001"];
        (e.date.clone(), e.fields.get("qc").cloned())
    });
    assert_eq!(date.as_deref(), Some("2024-03-02"));
    assert_eq!(qc.as_deref(), Some("fail"));
}
