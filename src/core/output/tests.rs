//! Unit tests for the formatter: every output format, quiet ids, and stderr messages.
use super::*;
use serde_json::json;

fn opts(format: OutputFormat) -> OutputOptions {
    OutputOptions {
        format,
        ..OutputOptions::default()
    }
}

fn listing() -> Listing {
    Listing {
        columns: vec![Column::new("ID", "ID"), Column::new("label", "Label")],
        rows: vec![
            json!({"ID": "P1", "label": "one\ttab", "extra": true})
                .as_object()
                .unwrap()
                .clone(),
            json!({"ID": "P2", "label": null, "extra": [1, 2]})
                .as_object()
                .unwrap()
                .clone(),
        ],
        id_field: "ID".into(),
        title: None,
    }
}

#[test]
fn json_shows_whole_rows_pretty() {
    let (mut p, buf) = Printer::buffer(opts(OutputFormat::Json));
    p.list(&listing()).unwrap();
    let v: Value = serde_json::from_str(&buf.stdout()).unwrap();
    assert_eq!(v[0]["extra"], json!(true));
    assert_eq!(v[1]["extra"], json!([1, 2]));
    assert!(
        buf.stdout().starts_with("[\n  {\n    \"ID\": \"P1\""),
        "{}",
        buf.stdout()
    );
}

#[test]
fn tsv_header_and_cells() {
    let (mut p, buf) = Printer::buffer(opts(OutputFormat::Tsv));
    p.list(&listing()).unwrap();
    assert_eq!(buf.stdout(), "ID\tlabel\nP1\tone tab\nP2\t\n");
    let (mut p, buf) = Printer::buffer(OutputOptions {
        no_headers: true,
        ..opts(OutputFormat::Tsv)
    });
    p.list(&listing()).unwrap();
    assert_eq!(buf.stdout(), "P1\tone tab\nP2\t\n");
}

#[test]
fn quiet_prints_ids_with_fallbacks() {
    let (mut p, buf) = Printer::buffer(OutputOptions {
        quiet: true,
        ..opts(OutputFormat::Json)
    });
    p.list(&listing()).unwrap();
    let mut l = listing();
    l.id_field = "missing".into();
    l.rows = vec![json!({"label": "L1"}).as_object().unwrap().clone()];
    p.list(&l).unwrap();
    p.json(&json!([{"name": "N1"}, "scalar"])).unwrap();
    assert_eq!(buf.stdout(), "P1\nP2\nL1\nN1\nscalar\n");
}

#[test]
fn table_and_empty_table() {
    let (mut p, buf) = Printer::buffer(opts(OutputFormat::Table));
    p.list(&listing()).unwrap();
    let out = buf.stdout();
    assert!(out.contains("Label") && out.contains("one tab") && out.contains("P2"));
    assert!(!out.contains("extra"), "columns limit the table");
    let (mut p, buf) = Printer::buffer(opts(OutputFormat::Table));
    p.list(&Listing::default()).unwrap();
    assert_eq!(buf.stdout(), "");
    assert_eq!(buf.stderr(), "No results\n");
    let (mut p, buf) = Printer::buffer(opts(OutputFormat::Tsv));
    let mut empty = listing();
    empty.rows.clear();
    p.list(&empty).unwrap();
    assert_eq!(buf.stdout(), "ID\tlabel\n");
}

#[test]
fn record_as_key_values() {
    let mut r = Record::new();
    r.insert("buildNumber", json!("123"));
    r.insert("enabled", json!(false));
    r.insert("email", json!(null));
    r.label("email", "E-mail");
    let (mut p, buf) = Printer::buffer(opts(OutputFormat::Table));
    p.record(&r).unwrap();
    assert_eq!(
        buf.stdout(),
        "Build Number  123\nEnabled       No\nE-mail        -\n"
    );
    let (mut p, buf) = Printer::buffer(opts(OutputFormat::Tsv));
    p.record(&r).unwrap();
    assert_eq!(buf.stdout(), "buildNumber\tenabled\temail\n123\tfalse\t\n");
}

#[test]
fn messages_are_prefixed_redacted_and_unwrapped() {
    let (m, buf) = Messages::buffer(false, false);
    let long = "w".repeat(200);
    m.success("done");
    m.warn(&format!("see https://h/x?token=abc {long}"));
    m.dry_run("would delete");
    m.error(&Error::Auth("bad \u{1b}[31mpassword".into()));
    m.info("note");
    assert_eq!(
        buf.stderr(),
        format!(
            "✓ done\nwarning: see https://h/x?token=*** {long}\n[dry-run] would delete\nerror: authentication failed: bad [31mpassword\nhint: run 'xnatctl auth login', or set XNAT_USER and XNAT_PASS (or XNAT_TOKEN)\nnote\n"
        )
    );
    let (m, buf) = Messages::buffer(true, true);
    m.success("hidden");
    m.info("hidden");
    m.warn("shown");
    assert_eq!(buf.stderr(), "\u{1b}[33mwarning:\u{1b}[0m shown\n");
}

#[test]
fn broken_pipe_is_returned_not_swallowed() {
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let (mut p, _) = Printer::buffer(opts(OutputFormat::Json));
    p.out = Box::new(Broken);
    let e = p.list(&listing()).unwrap_err();
    let Error::Io { source, .. } = e else {
        panic!("a failed write is an Io error: {e}");
    };
    assert_eq!(source.kind(), std::io::ErrorKind::BrokenPipe);
}
