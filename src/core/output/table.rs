//! Human-readable rendering: aligned tables (comfy-table) and key/value blocks. Tables follow
//! the terminal width on a terminal and are never truncated or wrapped when piped.

use comfy_table::{presets, Attribute, Cell, ContentArrangement, Table};
use serde_json::{Map, Value};

use super::{ansi, Column};

/// The table text of one value: null is empty, booleans are `Yes`/`No`, lists and objects are
/// compact JSON; control characters that could move the cursor are removed.
pub fn cell_text(value: Option<&Value>) -> String {
    let raw = match value {
        None | Some(Value::Null) => return String::new(),
        Some(Value::Bool(true)) => "Yes".to_string(),
        Some(Value::Bool(false)) => "No".to_string(),
        Some(Value::String(s)) => return sanitize(s),
        Some(Value::Number(n)) => n.to_string(),
        Some(v @ (Value::Array(_) | Value::Object(_))) => v.to_string(),
    };
    sanitize(&raw)
}

/// Keep newlines, turn tabs into spaces and drop every other control character, so that data
/// from the server cannot inject terminal escape sequences.
pub fn sanitize(text: &str) -> String {
    // Nearly every cell is clean: one copy instead of three (a table can have 40 000 cells).
    if !text.chars().any(|c| c != '\n' && c.is_control()) {
        return text.to_string();
    }
    text.replace("\r\n", "\n")
        .chars()
        .filter_map(|c| match c {
            '\n' => Some('\n'),
            '\t' | '\r' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// A display label for a key: `_` becomes a space, camelCase is split into words, and each
/// word is capitalised (`buildNumber` → `Build Number`, `subject_ID` → `Subject ID`).
pub fn label_for(key: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for part in key.split(['_', ' ', '-']) {
        let chars: Vec<char> = part.chars().collect();
        let mut word = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            let boundary = c.is_uppercase()
                && prev.is_some_and(|p| {
                    p.is_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_uppercase() && next.is_some_and(char::is_lowercase))
                });
            if boundary && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            word.push(c);
        }
        if !word.is_empty() {
            words.push(word);
        }
    }
    words
        .iter()
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(first) => first.to_uppercase().chain(cs).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Render rows as a table.
pub fn render(
    columns: &[Column],
    rows: &[Map<String, Value>],
    headers: bool,
    color: bool,
    width: Option<u16>,
) -> String {
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    match width {
        Some(w) => {
            table.set_content_arrangement(ContentArrangement::Dynamic);
            table.set_width(w);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    if headers {
        table.set_header(columns.iter().map(|c| {
            let cell = Cell::new(sanitize(&c.label));
            if color {
                cell.add_attribute(Attribute::Bold)
            } else {
                cell
            }
        }));
    }
    for row in rows {
        table.add_row(
            columns
                .iter()
                .map(|c| Cell::new(cell_text(row.get(&c.key)))),
        );
    }
    table.to_string()
}

/// Render an object as aligned `Label  value` lines.
pub fn key_values(fields: &[(String, &Value)], color: bool) -> String {
    let width = fields
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (label, value) in fields {
        let pad = " ".repeat(width - label.chars().count());
        let shown = match value {
            Value::Null => ansi::paint(color, ansi::DIM, "-"),
            Value::Bool(true) => ansi::paint(color, ansi::GREEN, "Yes"),
            Value::Bool(false) => ansi::paint(color, ansi::RED, "No"),
            other => sanitize(&cell_text(Some(other))).replace('\n', " "),
        };
        out.push_str(&ansi::paint(color, ansi::BOLD, &sanitize(label)));
        out.push_str(&pad);
        out.push_str("  ");
        out.push_str(&shown);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_split_camel_case() {
        let cases = [
            ("buildNumber", "Build Number"),
            ("aeTitle", "Ae Title"),
            ("subject_ID", "Subject ID"),
            ("ID", "ID"),
            ("URI", "URI"),
            ("xsiType", "Xsi Type"),
            ("default_project", "Default Project"),
            ("XMLParser", "XML Parser"),
            ("scan2Type", "Scan2 Type"),
            ("label", "Label"),
        ];
        for (key, want) in cases {
            assert_eq!(label_for(key), want, "{key}");
        }
    }

    #[test]
    fn table_cells() {
        assert_eq!(cell_text(Some(&json!(null))), "");
        assert_eq!(cell_text(Some(&json!(true))), "Yes");
        assert_eq!(cell_text(Some(&json!(false))), "No");
        assert_eq!(cell_text(Some(&json!({"a": [1]}))), "{\"a\":[1]}");
        assert_eq!(cell_text(Some(&json!("a\u{1b}[2Jb"))), "a[2Jb");
    }

    #[test]
    fn piped_tables_are_not_truncated() {
        let long = "x".repeat(300);
        let mut row = Map::new();
        row.insert("k".into(), json!(long));
        let text = render(&[Column::new("k", "K")], &[row], true, false, None);
        assert!(text.contains(&long));
        assert!(!text.contains('\u{1b}'));
        let narrow = render(
            &[Column::new("k", "K")],
            &[{
                let mut r = Map::new();
                r.insert("k".into(), json!(long));
                r
            }],
            true,
            false,
            Some(40),
        );
        assert!(narrow.lines().all(|l| l.chars().count() <= 40), "{narrow}");
    }
}
