//! Tab-separated output: one cell rule shared by every listing, so that scripts can split on
//! tabs and newlines without ever seeing a stray control character.

use serde_json::Value;

/// The TSV text of one value: null is empty, booleans are `true`/`false`, lists and objects are
/// compact JSON; tab, newline and carriage return become a space and other control characters
/// (C0 and DEL) are removed.
pub fn cell(value: Option<&Value>) -> String {
    let raw = match value {
        None | Some(Value::Null) => return String::new(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(v @ (Value::Array(_) | Value::Object(_))) => v.to_string(),
    };
    clean(&raw)
}

/// Apply the TSV character rules to text (also used for header keys).
pub fn clean(text: &str) -> String {
    let text = text.replace("\r\n", " ");
    text.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if (c as u32) < 0x20 || c == '\x7f' => None,
            c => Some(c),
        })
        .collect()
}

/// One TSV line (without the newline) from already-formatted cells.
pub fn line<I, S>(cells: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    cells
        .into_iter()
        .map(|c| clean(c.as_ref()))
        .collect::<Vec<_>>()
        .join("\t")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cell_rules() {
        let cases = [
            (json!(null), ""),
            (json!(true), "true"),
            (json!(false), "false"),
            (json!(3), "3"),
            (json!(1.5), "1.5"),
            (json!("a\tb\nc\r\nd\re"), "a b c d e"),
            (json!("x\u{1b}[31my\u{7f}"), "x[31my"),
            (json!([1, "a"]), "[1,\"a\"]"),
            (json!({"k": "v"}), "{\"k\":\"v\"}"),
        ];
        for (v, want) in cases {
            assert_eq!(cell(Some(&v)), want, "{v}");
        }
        assert_eq!(cell(None), "");
    }
}
