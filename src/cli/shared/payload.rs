//! `FILE|-` JSON payloads (`event create`, and any command that sends a JSON object read from a
//! file): read and checked before any request, and shown as a diff in dry runs.
//!
//! `-` reads stdin, which the confirmation prompt also needs, so it is refused on a terminal and
//! without `--yes`/`--dry-run` (exit 2). A file that is not JSON, or JSON that is not an object,
//! is invalid input (exit 1) and the message names the line and column serde stopped at.

use std::io::{IsTerminal, Read};
use std::path::Path;

use serde_json::{Map, Value};

use super::args::ConfirmArgs;
use crate::core::{Error, Result};

/// A JSON object read from `FILE|-`, with the name messages use for its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    /// The object.
    pub object: Map<String, Value>,
    /// The path as given, or `<stdin>`.
    pub source: String,
}

/// Read `file` (or stdin for `-`) as one JSON object; `what` names it in messages
/// (`subscription`).
pub fn read_json_object(file: &Path, confirm: &ConfirmArgs, what: &str) -> Result<Payload> {
    let (bytes, source) = if file.as_os_str() == "-" {
        if std::io::stdin().is_terminal() {
            return Err(Error::usage(format!(
                "FILE - reads the {what} from stdin, but stdin is a terminal"
            )));
        }
        if !confirm.unattended() {
            return Err(Error::usage(format!(
                "FILE - requires --yes or --dry-run (stdin is consumed by the {what})"
            )));
        }
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(format!("reading the {what} from stdin"), e))?;
        (bytes, "<stdin>".to_string())
    } else {
        let source = file.display().to_string();
        let bytes = std::fs::read(file)
            .map_err(|e| Error::InvalidInput(format!("cannot read {source}: {e}")))?;
        (bytes, source)
    };
    let object = parse_object(&bytes, &source, what)?;
    Ok(Payload { object, source })
}

/// Parse `bytes` as a JSON object (`source` and `what` name it in the error).
pub fn parse_object(bytes: &[u8], source: &str, what: &str) -> Result<Map<String, Value>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(Error::InvalidInput(format!(
            "{source}: the {what} must be a JSON object, got {}",
            kind(&other)
        ))),
        Err(e) => Err(Error::InvalidInput(format!(
            "{source}: invalid JSON at line {} column {}: {}",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        ))),
    }
}

/// serde's message ends with ` at line L column C`; the position is already in front.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |i| &message[..i])
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A unified diff of two JSON objects, both pretty-printed with sorted keys, headed
/// `<label> (current)` / `<label> (new)`; `(no changes)` when equal.
pub fn json_diff(label: &str, current: &Map<String, Value>, new: &Map<String, Value>) -> String {
    let render = |m: &Map<String, Value>| {
        let sorted: std::collections::BTreeMap<_, _> = m.iter().collect();
        let mut s = serde_json::to_string_pretty(&sorted).unwrap_or_default();
        s.push('\n');
        s
    };
    let (a, b) = (render(current), render(new));
    if a == b {
        return "(no changes)\n".to_string();
    }
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .header(&format!("{label} (current)"), &format!("{label} (new)"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_line_and_column() {
        let e = parse_object(b"{\n  \"a\": 1,\n  oops\n}", "sub.json", "subscription").unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            e.to_string(),
            "sub.json: invalid JSON at line 3 column 3: key must be a string"
        );
        let e = parse_object(b"[1]", "sub.json", "subscription").unwrap_err();
        assert_eq!(
            e.to_string(),
            "sub.json: the subscription must be a JSON object, got an array"
        );
    }

    #[test]
    fn a_diff_sorts_keys_and_says_when_nothing_changes() {
        let a: Map<String, Value> = serde_json::from_str(r#"{"b":1,"a":2}"#).unwrap();
        let b: Map<String, Value> = serde_json::from_str(r#"{"a":2,"b":1}"#).unwrap();
        assert_eq!(json_diff("x", &a, &b), "(no changes)\n");
        let d = json_diff("x", &Map::new(), &a);
        assert!(d.starts_with("--- x (current)\n+++ x (new)\n"), "{d}");
        assert!(d.contains("+  \"a\": 2,\n+  \"b\": 1\n"), "{d}");
    }
}
