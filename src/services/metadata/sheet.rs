//! The spreadsheet side of `vars export` / `vars apply`: one table of text cells read from or
//! written to CSV, TSV or JSON, chosen by the file's extension. Reading accepts what Excel
//! writes: a UTF-8 byte-order mark, CRLF line ends, `;` as the separator (Excel in locales
//! whose decimal mark is a comma), Windows-1252 text when the file is not UTF-8, trailing
//! empty rows and unnamed empty columns. Every row keeps the line it started on, so errors
//! can name it.

use std::path::Path;

use serde_json::{Map, Value};

use crate::core::{Error, Result};

/// A file format, from the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated (`;` also read).
    Csv,
    /// Tab-separated.
    Tsv,
    /// A JSON array of objects.
    Json,
}

impl Format {
    /// `.csv`, `.tsv`/`.tab`/`.txt` or `.json` (any case); anything else is a usage error.
    pub fn of(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Ok(Format::Csv),
            "tsv" | "tab" | "txt" => Ok(Format::Tsv),
            "json" => Ok(Format::Json),
            _ => Err(Error::usage(format!(
                "cannot tell the format of '{}': name it .csv, .tsv or .json",
                path.display()
            ))),
        }
    }
}

/// One data row and the line (CSV/TSV) or entry number (JSON) it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    /// 1-based line of the file (the header is line 1), or the entry's 1-based index in JSON.
    pub line: usize,
    /// One cell per column.
    pub cells: Vec<String>,
}

/// A table of text cells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sheet {
    /// Column names, in file order.
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<SheetRow>,
    /// How rows are named in messages: `line` or `entry`.
    pub unit: &'static str,
}

impl Sheet {
    /// The cell of `row` in column `col`.
    pub fn cell<'a>(&self, row: &'a SheetRow, col: usize) -> &'a str {
        row.cells.get(col).map(String::as_str).unwrap_or("")
    }
}

/// Write `sheet` to `path` in the format its extension names.
pub fn write(path: &Path, sheet: &Sheet) -> Result<()> {
    let bytes = render(sheet, Format::of(path)?)?;
    std::fs::write(path, bytes)
        .map_err(|e| Error::Operation(format!("cannot write '{}': {e}", path.display())))
}

/// The bytes of `sheet` in `format` (CSV and TSV quote only where needed, `\n` line ends).
pub fn render(sheet: &Sheet, format: Format) -> Result<Vec<u8>> {
    match format {
        Format::Json => {
            let rows: Vec<Value> = sheet
                .rows
                .iter()
                .map(|r| {
                    let obj: Map<String, Value> = sheet
                        .columns
                        .iter()
                        .zip(&r.cells)
                        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                        .collect();
                    Value::Object(obj)
                })
                .collect();
            let mut out = serde_json::to_vec_pretty(&rows).map_err(|source| Error::Json {
                context: "the exported rows",
                source,
            })?;
            out.push(b'\n');
            Ok(out)
        }
        Format::Csv | Format::Tsv => {
            let delimiter = if format == Format::Csv { b',' } else { b'\t' };
            let mut w = csv::WriterBuilder::new()
                .delimiter(delimiter)
                .from_writer(Vec::new());
            let csv_err = |e: csv::Error| Error::Operation(format!("cannot write the table: {e}"));
            w.write_record(&sheet.columns).map_err(csv_err)?;
            for r in &sheet.rows {
                w.write_record(&r.cells).map_err(csv_err)?;
            }
            w.into_inner()
                .map_err(|e| Error::Operation(format!("cannot write the table: {e}")))
        }
    }
}

/// Read `path` in the format its extension names.
pub fn read(path: &Path) -> Result<Sheet> {
    let format = Format::of(path)?;
    let bytes = std::fs::read(path)
        .map_err(|e| Error::InvalidInput(format!("cannot read '{}': {e}", path.display())))?;
    parse(&bytes, format)
}

/// Parse the bytes of a sheet.
pub fn parse(bytes: &[u8], format: Format) -> Result<Sheet> {
    let text = decode(bytes);
    match format {
        Format::Json => parse_json(&text),
        Format::Csv => parse_delimited(&text, sniff_delimiter(&text)),
        Format::Tsv => parse_delimited(&text, b'\t'),
    }
}

/// UTF-8 without its byte-order mark; a file that is not UTF-8 is taken as Windows-1252, the
/// encoding Excel's plain "CSV" export uses on Windows.
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[(b - 0x80) as usize],
        _ => b as char,
    }
}

/// `;` when the header line has more semicolons than commas outside quotes, else `,`.
fn sniff_delimiter(text: &str) -> u8 {
    let (mut commas, mut semis, mut quoted) = (0, 0, false);
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted => break,
            ',' if !quoted => commas += 1,
            ';' if !quoted => semis += 1,
            _ => {}
        }
    }
    if semis > commas {
        b';'
    } else {
        b','
    }
}

fn parse_delimited(text: &str, delimiter: u8) -> Result<Sheet> {
    // CRLF as LF first: the csv reader counts a CRLF record's line one short, and a CRLF inside
    // a quoted cell is a line break either way.
    let text = text.replace("\r\n", "\n");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            Error::InvalidInput(format!("line {line}: malformed row: {e}"))
        })?;
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        records.push((line, rec.iter().map(str::to_string).collect::<Vec<_>>()));
    }
    let mut it = records.into_iter();
    let Some((_, header)) = it.next() else {
        return Err(Error::InvalidInput("the file is empty".into()));
    };
    let rows: Vec<SheetRow> = it
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .map(|(line, cells)| SheetRow { line, cells })
        .collect();
    for r in &rows {
        if r.cells.len() > header.len()
            && r.cells[header.len()..].iter().any(|c| !c.trim().is_empty())
        {
            return Err(Error::InvalidInput(format!(
                "line {}: {} cells but the header has {} columns",
                r.line,
                r.cells.len(),
                header.len()
            )));
        }
    }
    tidy(header, rows, "line")
}

fn parse_json(text: &str) -> Result<Sheet> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| Error::InvalidInput(format!("not valid JSON: {e}")))?;
    let Value::Array(items) = doc else {
        return Err(Error::InvalidInput(
            "expected a JSON array of objects (one per row)".into(),
        ));
    };
    let mut columns: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(o) = item else {
            return Err(Error::InvalidInput(format!(
                "entry {}: expected an object",
                i + 1
            )));
        };
        for k in o.keys() {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    let rows = items
        .iter()
        .enumerate()
        .map(|(i, item)| SheetRow {
            line: i + 1,
            cells: columns
                .iter()
                .map(|c| match item.get(c) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                })
                .collect(),
        })
        .collect();
    tidy(columns, rows, "entry")
}

/// Trim header names, drop unnamed columns that hold nothing (Excel leaves them behind), refuse
/// unnamed columns with data and names given twice.
fn tidy(header: Vec<String>, mut rows: Vec<SheetRow>, unit: &'static str) -> Result<Sheet> {
    let header: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    let mut keep = Vec::new();
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() {
            if let Some(r) = rows
                .iter()
                .find(|r| r.cells.get(i).is_some_and(|c| !c.trim().is_empty()))
            {
                return Err(Error::InvalidInput(format!(
                    "{unit} {}: column {} has data but no name in the header",
                    r.line,
                    i + 1
                )));
            }
            continue;
        }
        if let Some(prev) = header[..i].iter().find(|p| p.eq_ignore_ascii_case(name)) {
            return Err(Error::InvalidInput(format!(
                "line 1: column '{name}' appears twice (also as '{prev}')"
            )));
        }
        keep.push(i);
    }
    for r in &mut rows {
        r.cells = keep
            .iter()
            .map(|&i| r.cells.get(i).cloned().unwrap_or_default())
            .collect();
    }
    Ok(Sheet {
        columns: keep.iter().map(|&i| header[i].clone()).collect(),
        rows,
        unit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_csv_with_bom_crlf_and_semicolons_reads_like_plain_csv() {
        let excel = b"\xEF\xBB\xBFid;label;age\r\nS1;A;41\r\nS2;\"B;x\";\r\n;;\r\n";
        let s = parse(excel, Format::Csv).unwrap();
        assert_eq!(s.columns, ["id", "label", "age"]);
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[0].cells, ["S1", "A", "41"]);
        assert_eq!(s.rows[1].cells, ["S2", "B;x", ""]);
        assert_eq!(s.rows[1].line, 3);
    }

    #[test]
    fn windows_1252_bytes_are_decoded() {
        let s = parse(b"id,note\nS1,caf\xe9 \x80\n", Format::Csv).unwrap();
        assert_eq!(s.rows[0].cells[1], "café €");
    }

    #[test]
    fn a_quoted_newline_keeps_the_following_line_numbers_right() {
        let s = parse(b"id,note\nS1,\"a\nb\"\nS2,c\n", Format::Csv).unwrap();
        assert_eq!(s.rows[0].cells[1], "a\nb");
        assert_eq!(s.rows[1].line, 4);
    }

    #[test]
    fn unnamed_empty_columns_are_dropped_and_duplicates_refused() {
        let s = parse(b"id,label,,\nS1,A,,\n", Format::Csv).unwrap();
        assert_eq!(s.columns, ["id", "label"]);
        let e = parse(b"id,Age,age\nS1,1,2\n", Format::Csv).unwrap_err();
        assert!(e.to_string().contains("column 'age' appears twice"), "{e}");
        let e = parse(b"id,\nS1,x\n", Format::Csv).unwrap_err();
        assert!(
            e.to_string()
                .contains("line 2: column 2 has data but no name"),
            "{e}"
        );
    }

    #[test]
    fn json_rows_take_every_key_and_stringify_numbers() {
        let s = parse(
            br#"[{"id":"S1","age":41},{"id":"S2","site":null,"x":true}]"#,
            Format::Json,
        )
        .unwrap();
        assert_eq!(s.columns, ["id", "age", "site", "x"]);
        assert_eq!(s.rows[0].cells, ["S1", "41", "", ""]);
        assert_eq!(s.rows[1].cells, ["S2", "", "", "true"]);
    }

    #[test]
    fn csv_and_tsv_round_trip_quoted_cells() {
        let sheet = Sheet {
            columns: vec!["id".into(), "note".into()],
            rows: vec![SheetRow {
                line: 2,
                cells: vec!["S1".into(), "a, \"b\"\tc".into()],
            }],
            unit: "line",
        };
        for f in [Format::Csv, Format::Tsv, Format::Json] {
            let back = parse(&render(&sheet, f).unwrap(), f).unwrap();
            assert_eq!(back.rows[0].cells, sheet.rows[0].cells, "{f:?}");
        }
    }
}
