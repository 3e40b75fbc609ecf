//! `--filter`, `--sort-by`, `--limit` and `--columns`, applied client-side to a [`Listing`] in
//! that order, so that every list command behaves the same way.

use std::cmp::Ordering;

use regex::Regex;
use serde_json::{Map, Value};

use super::{tsv, Column, Listing};
use crate::core::error::{Error, Result};

/// Parsed list controls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListControls {
    /// `(field, glob)` pairs; a row must match all of them.
    pub filters: Vec<(String, String)>,
    /// `(field, descending)`.
    pub sort: Option<(String, bool)>,
    /// Keep at most this many rows (0 keeps none).
    pub limit: Option<usize>,
    /// Columns to show in table and TSV output, in this order.
    pub columns: Option<Vec<String>>,
}

impl ListControls {
    /// Parse the raw option values; malformed values are usage errors (exit 2).
    pub fn parse(
        filter: &[String],
        sort_by: Option<&str>,
        limit: Option<usize>,
        columns: Option<&str>,
    ) -> Result<Self> {
        let mut filters = Vec::new();
        for f in filter {
            let Some((field, glob)) = f.split_once(':') else {
                return Err(Error::usage(format!(
                    "invalid --filter '{f}': expected FIELD:GLOB, e.g. label:SUB*"
                )));
            };
            let field = field.trim();
            if field.is_empty() {
                return Err(Error::usage(format!(
                    "invalid --filter '{f}': the field name is empty"
                )));
            }
            filters.push((field.to_string(), glob.to_string()));
        }
        let sort = match sort_by {
            None => None,
            Some(s) => {
                // Without a direction the whole text names the field, which may hold ':'
                // (`var:group`); `apply` checks it against the listing's fields.
                let (field, desc) = match s.rsplit_once(':') {
                    Some((field, dir)) if dir.trim().eq_ignore_ascii_case("asc") => (field, false),
                    Some((field, dir)) if dir.trim().eq_ignore_ascii_case("desc") => (field, true),
                    _ => (s, false),
                };
                let field = field.trim();
                if field.is_empty() {
                    return Err(Error::usage(format!(
                        "invalid --sort-by '{s}': the field name is empty"
                    )));
                }
                Some((field.to_string(), desc))
            }
        };
        let columns = match columns {
            None => None,
            Some(c) => {
                let names: Vec<String> = c
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                if names.is_empty() {
                    return Err(Error::usage("--columns needs at least one column name"));
                }
                Some(names)
            }
        };
        Ok(ListControls {
            filters,
            sort,
            limit,
            columns,
        })
    }

    /// True when the whole result set is needed (a filter or a sort), so the caller must not
    /// page on the server.
    pub fn needs_full_set(&self) -> bool {
        !self.filters.is_empty() || self.sort.is_some()
    }

    /// Apply filter → sort → limit → columns to `listing`.
    pub fn apply(&self, listing: &mut Listing) -> Result<()> {
        if !self.filters.is_empty() && !listing.rows.is_empty() {
            let known = known_fields(listing);
            let mut compiled = Vec::new();
            for (field, glob) in &self.filters {
                let Some((field, glob)) = resolve_filter(&known, field, glob) else {
                    return Err(Error::usage(format!(
                        "unknown --filter field '{field}'; available fields: {}",
                        known.join(", ")
                    )));
                };
                compiled.push((field, fnmatch_regex(&glob)));
            }
            listing.rows.retain(|row| {
                compiled
                    .iter()
                    .all(|(field, re)| re.is_match(&tsv::cell(row.get(*field)).to_lowercase()))
            });
        }
        if let Some((field, desc)) = &self.sort {
            if !listing.rows.is_empty() {
                let known = known_fields(listing);
                if !known.contains(field) {
                    // `label:up`: a known field with a bad direction.
                    if let Some((head, _)) = field.rsplit_once(':') {
                        if known.iter().any(|k| k == head) {
                            return Err(Error::usage(format!(
                                "invalid --sort-by '{field}': the direction must be asc or desc"
                            )));
                        }
                    }
                    // Sorting by a field no row has would silently do nothing; say so instead.
                    return Err(Error::usage(format!(
                        "unknown --sort-by field '{field}'; available fields: {}",
                        known.join(", ")
                    )));
                }
            }
            sort_rows(&mut listing.rows, field, *desc);
        }
        if let Some(n) = self.limit {
            listing.rows.truncate(n);
        }
        if let Some(names) = &self.columns {
            let available = listing.effective_columns();
            let mut chosen = Vec::new();
            for name in names {
                match available.iter().find(|c| &c.key == name) {
                    Some(c) => chosen.push(c.clone()),
                    None => {
                        let keys: Vec<&str> = available.iter().map(|c| c.key.as_str()).collect();
                        return Err(Error::usage(format!(
                            "unknown column '{name}'; available columns: {}",
                            keys.join(", ")
                        )));
                    }
                }
            }
            listing.columns = chosen;
        }
        Ok(())
    }
}

fn known_fields(listing: &Listing) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let from_columns = listing.columns.iter().map(|c| &c.key);
    let from_rows = listing.rows.iter().flat_map(|r| r.keys());
    for k in from_columns.chain(from_rows) {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    keys
}

/// The field and glob of `--filter FIELD:GLOB`, parsed as `field` and `glob` (split at the
/// first ':'), once the listing's fields are known. A field name may hold ':' itself (a custom
/// variable column `var:group`), so the longest known field that the whole text starts with,
/// followed by ':', wins; the glob keeps any further ':' (`date:2024-*T10:*`).
fn resolve_filter<'a>(known: &'a [String], field: &str, glob: &str) -> Option<(&'a str, String)> {
    let text = format!("{field}:{glob}");
    known
        .iter()
        .filter_map(|k| {
            Some((
                k.as_str(),
                text.strip_prefix(k.as_str())?.strip_prefix(':')?,
            ))
        })
        .max_by_key(|(k, _)| k.len())
        .map(|(k, glob)| (k, glob.to_string()))
}

/// Translate a shell glob (`*`, `?`, `[seq]`, `[!seq]`) into an anchored, lower-cased regex, the
/// way Python's `fnmatch` does.
fn fnmatch_regex(glob: &str) -> Regex {
    let glob = glob.to_lowercase();
    let chars: Vec<char> = glob.chars().collect();
    let mut re = String::from("(?s)^");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' => {
                let mut j = i;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    re.push_str("\\[");
                } else {
                    let body: String = chars[i..j].iter().collect();
                    let (negate, body) = match body.strip_prefix('!') {
                        Some(rest) => (true, rest.to_string()),
                        None => (false, body),
                    };
                    let escaped: String = body
                        .chars()
                        .map(|ch| match ch {
                            '\\' | '[' | ']' | '^' | '&' | '~' => format!("\\{ch}"),
                            other => other.to_string(),
                        })
                        .collect();
                    re.push('[');
                    if negate {
                        re.push('^');
                    }
                    re.push_str(&escaped);
                    re.push(']');
                    i = j + 1;
                }
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).unwrap_or_else(|_| {
        Regex::new(&format!("^{}$", regex::escape(&glob))).expect("escaped literal")
    })
}

fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| !f.is_nan()),
        _ => None,
    }
}

fn sort_rows(rows: &mut [Map<String, Value>], field: &str, desc: bool) {
    let present = |r: &Map<String, Value>| r.get(field).filter(|v| !v.is_null()).cloned();
    let all_numeric = rows
        .iter()
        .filter_map(present)
        .all(|v| numeric(&v).is_some());
    rows.sort_by(|a, b| match (present(a), present(b)) {
        (None, None) => Ordering::Equal,
        // Missing values go last whatever the direction.
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            let ord = if all_numeric {
                let (x, y) = (numeric(&x).unwrap_or(0.0), numeric(&y).unwrap_or(0.0));
                x.partial_cmp(&y).unwrap_or(Ordering::Equal)
            } else {
                let x = tsv::cell(Some(&x)).to_lowercase();
                let y = tsv::cell(Some(&y)).to_lowercase();
                x.cmp(&y)
            };
            if desc {
                ord.reverse()
            } else {
                ord
            }
        }
    });
}

impl Listing {
    /// The columns to render: the declared ones, else the union of row keys in first-seen order.
    pub fn effective_columns(&self) -> Vec<Column> {
        if !self.columns.is_empty() {
            return self.columns.clone();
        }
        let mut keys: Vec<&String> = Vec::new();
        for k in self.rows.iter().flat_map(|r| r.keys()) {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys.into_iter().map(|k| Column::auto(k)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listing() -> Listing {
        let rows = [
            json!({"ID": "E1", "label": "Sub_B", "size": "10", "age": 30}),
            json!({"ID": "E2", "label": "sub_a", "size": 9}),
            json!({"ID": "E3", "label": "OTHER", "size": null, "age": 5}),
            json!({"ID": "E4", "label": "sub_c", "size": "100", "age": 7}),
        ];
        Listing {
            columns: vec![Column::new("ID", "ID"), Column::new("label", "Label")],
            rows: rows
                .into_iter()
                .map(|v| v.as_object().unwrap().clone())
                .collect(),
            id_field: "ID".into(),
            title: None,
        }
    }

    fn ids(l: &Listing) -> Vec<&str> {
        l.rows.iter().map(|r| r["ID"].as_str().unwrap()).collect()
    }

    fn apply(
        filter: &[&str],
        sort: Option<&str>,
        limit: Option<usize>,
        cols: Option<&str>,
    ) -> Result<Listing> {
        let filter: Vec<String> = filter.iter().map(|s| s.to_string()).collect();
        let c = ListControls::parse(&filter, sort, limit, cols)?;
        let mut l = listing();
        c.apply(&mut l)?;
        Ok(l)
    }

    #[test]
    fn filter_is_case_folded_fnmatch() {
        assert_eq!(
            ids(&apply(&["label:SUB_*"], None, None, None).unwrap()),
            ["E1", "E2", "E4"]
        );
        assert_eq!(
            ids(&apply(&["label:sub_[!a]"], None, None, None).unwrap()),
            ["E1", "E4"]
        );
        assert_eq!(
            ids(&apply(&["label:?ther"], None, None, None).unwrap()),
            ["E3"]
        );
        assert_eq!(
            ids(&apply(&["label:sub*", "ID:E[14]"], None, None, None).unwrap()),
            ["E1", "E4"]
        );
    }

    #[test]
    fn a_filter_field_may_hold_colons_and_the_longest_known_field_wins() {
        let mut l = listing();
        l.rows[0].insert("var:group".into(), json!("ctl:a"));
        l.rows[1].insert("var:group".into(), json!("pat"));
        l.rows[2].insert("var".into(), json!("group:pat"));
        let run = |l: &Listing, f: &str| {
            let c = ListControls::parse(&[f.to_string()], None, None, None).unwrap();
            let mut l = l.clone();
            c.apply(&mut l).map(|()| ids(&l).join(","))
        };
        assert_eq!(run(&l, "var:group:pat").unwrap(), "E2");
        // The glob keeps its own colons.
        assert_eq!(run(&l, "var:group:ctl:*").unwrap(), "E1");
        assert_eq!(run(&l, "label:sub_a").unwrap(), "E2");
        // `var` is a field too, but the longer `var:group` is the one meant.
        assert_eq!(run(&l, "var:group:?*").unwrap(), "E1,E2");
        assert_eq!(run(&l, "var:gr*").unwrap(), "E3");
        let e = run(&l, "vars:group:x").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().contains("unknown --filter field 'vars'"),
            "{e}"
        );
    }

    #[test]
    fn filter_errors_are_usage_errors() {
        for bad in ["nocolon", ":x"] {
            let e = apply(&[bad], None, None, None).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
        let e = apply(&["nope:x"], None, None, None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string()
                .contains("available fields: ID, label, size, age"),
            "{e}"
        );
    }

    #[test]
    fn sort_by_an_unknown_field_is_a_usage_error() {
        let e = apply(&[], Some("nope:desc"), None, None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().contains("unknown --sort-by field 'nope'"),
            "{e}"
        );
        // A field only some rows carry is known: those rows sort first, the rest last.
        assert_eq!(
            ids(&apply(&[], Some("age"), None, None).unwrap()),
            ["E3", "E4", "E1", "E2"]
        );
    }

    #[test]
    fn sort_numeric_with_missing_last() {
        assert_eq!(
            ids(&apply(&[], Some("size"), None, None).unwrap()),
            ["E2", "E1", "E4", "E3"]
        );
        assert_eq!(
            ids(&apply(&[], Some("size:desc"), None, None).unwrap()),
            ["E4", "E1", "E2", "E3"]
        );
        assert_eq!(
            ids(&apply(&[], Some("age:DESC"), None, None).unwrap()),
            ["E1", "E4", "E3", "E2"]
        );
        assert_eq!(
            ids(&apply(&[], Some("label:asc"), None, None).unwrap()),
            ["E3", "E2", "E1", "E4"]
        );
        let e = apply(&[], Some("label:up"), None, None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().contains("the direction must be asc or desc"),
            "{e}"
        );
    }

    #[test]
    fn a_sort_field_may_hold_colons() {
        let mut l = listing();
        for (row, v) in l.rows.iter_mut().zip(["b", "a", "d", "c"]) {
            row.insert("var:group".into(), json!(v));
        }
        for (by, want) in [
            ("var:group", ["E2", "E1", "E4", "E3"]),
            ("var:group:desc", ["E3", "E4", "E1", "E2"]),
        ] {
            let c = ListControls::parse(&[], Some(by), None, None).unwrap();
            let mut l = l.clone();
            c.apply(&mut l).unwrap();
            assert_eq!(ids(&l), want, "{by}");
        }
    }

    #[test]
    fn limit_after_sort_and_columns_last() {
        let l = apply(&["label:sub*"], Some("label"), Some(2), Some("label,ID")).unwrap();
        assert_eq!(ids(&l), ["E2", "E1"]);
        let keys: Vec<&str> = l.columns.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["label", "ID"]);
        assert_eq!(l.columns[0].label, "Label");
        assert!(apply(&[], None, Some(0), None).unwrap().rows.is_empty());
        let e = apply(&[], None, None, Some("ID,zzz")).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().contains("available columns: ID, label"),
            "{e}"
        );
        assert_eq!(
            apply(&[], None, None, Some(" , ")).unwrap_err().exit_code(),
            2
        );
    }

    #[test]
    fn needs_full_set_only_for_filter_or_sort() {
        let none = ListControls::parse(&[], None, Some(3), Some("a")).unwrap();
        assert!(!none.needs_full_set());
        assert!(ListControls::parse(&["a:b".into()], None, None, None)
            .unwrap()
            .needs_full_set());
        assert!(ListControls::parse(&[], Some("a"), None, None)
            .unwrap()
            .needs_full_set());
    }
}
