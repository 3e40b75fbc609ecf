//! The QueryOrganizer-style listing machinery shared by projects, subjects, experiments and scans:
//! `columns=`, shortcut/xpath filters (comma = OR, `*`/`%` wildcards, date ranges), `sortBy`,
//! `sortOrder`, `offset`/`limit` (fidelity spec §1.4).

use std::collections::BTreeMap;

use crate::envelope::{ResultSet, Table};
use crate::faults::glob_match;
use crate::params::Params;

/// Parameters that control the listing itself and are never filters.
const RESERVED: &[&str] = &[
    "format",
    "columns",
    "offset",
    "limit",
    "sortby",
    "sortorder",
    "xsitype",
    "restrict",
    "alldataoverride",
    "req_format",
    "accept-not-found",
    "event_type",
    "event_action",
    "event_reason",
    "recursive",
];

/// What one listing needs to know about its rows.
pub struct Listing<'a> {
    /// Default column keys (without `URI`).
    pub defaults: &'a [&'a str],
    /// Shortcut names valid for `columns=` and as filters.
    pub shortcuts: &'a [&'a str],
    /// Keys always added after the requested columns (before `URI`), e.g. `xnat:subjectassessordata/id`.
    pub forced: &'a [&'a str],
    /// Shortcuts filtered as dates (`MM/DD/YYYY[-MM/DD/YYYY]`).
    pub date_keys: &'a [&'a str],
}

/// Output key for a requested column: shortcut names as given, xpaths lower-cased.
fn column_key(listing: &Listing, col: &str) -> Option<String> {
    if let Some(s) = listing
        .shortcuts
        .iter()
        .find(|s| s.eq_ignore_ascii_case(col))
    {
        return Some((*s).to_string());
    }
    if col.contains('/') {
        return Some(col.to_ascii_lowercase());
    }
    None
}

fn is_filter_key(listing: &Listing, key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    if RESERVED.contains(&lower.as_str()) || lower == "uri" {
        return false;
    }
    listing
        .shortcuts
        .iter()
        .any(|s| s.eq_ignore_ascii_case(key))
        || key.contains('/')
}

/// `MM/DD/YYYY` → `YYYY-MM-DD`.
fn us_date(s: &str) -> Option<String> {
    let mut it = s.trim().split('/');
    let (m, d, y) = (it.next()?, it.next()?, it.next()?);
    let (m, d, y): (u32, u32, u32) = (m.parse().ok()?, d.parse().ok()?, y.parse().ok()?);
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

fn value_matches(value: &str, wanted: &str, is_date: bool) -> bool {
    wanted.split(',').map(str::trim).any(|alt| {
        if is_date {
            if let Some((a, b)) = alt.split_once('-') {
                if let (Some(a), Some(b)) = (us_date(a), us_date(b)) {
                    return !value.is_empty() && value >= a.as_str() && value <= b.as_str();
                }
            }
            if let Some(d) = us_date(alt) {
                return value == d;
            }
        }
        if alt.contains('*') || alt.contains('%') {
            let pat = alt.replace('%', "*").to_ascii_lowercase();
            return glob_match(pat.as_bytes(), value.to_ascii_lowercase().as_bytes());
        }
        value.eq_ignore_ascii_case(alt)
    })
}

/// Build the table. `cell(item, key)` answers any shortcut or lower-cased xpath key ("" if none);
/// `uri(item)` gives the `URI` column.
pub fn build<T>(
    items: Vec<T>,
    params: &Params,
    listing: &Listing,
    cell: impl Fn(&T, &str) -> String,
    uri: impl Fn(&T) -> String,
) -> ResultSet {
    build_into(
        items,
        params,
        listing,
        |it, k, out| out.push_str(&cell(it, k)),
        |it, out| out.push_str(&uri(it)),
    )
}

/// [`build`] with cells appended to a buffer: the rows land in one flat [`Table`] (no map, key or
/// value allocation per cell), only the rows of the requested page are rendered when nothing is
/// sorted, and the envelope is written from it in one pass.
pub fn build_into<T>(
    items: Vec<T>,
    params: &Params,
    listing: &Listing,
    cell: impl Fn(&T, &str, &mut String),
    uri: impl Fn(&T, &mut String),
) -> ResultSet {
    let filters: Vec<(String, &str, bool)> = params
        .iter()
        .filter(|(k, _)| is_filter_key(listing, k))
        .map(|(k, v)| {
            let key = column_key(listing, k).unwrap_or_else(|| k.to_ascii_lowercase());
            let is_date = listing.date_keys.iter().any(|d| d.eq_ignore_ascii_case(k));
            (key, v, is_date)
        })
        .collect();
    let items: Vec<T> = if filters.is_empty() {
        items
    } else {
        let mut scratch = String::new();
        items
            .into_iter()
            .filter(|it| {
                filters.iter().all(|(key, v, is_date)| {
                    scratch.clear();
                    cell(it, key, &mut scratch);
                    value_matches(&scratch, v, *is_date)
                })
            })
            .collect()
    };

    let mut keys: Vec<String> = match params.get_ci("columns").map(str::trim) {
        Some(cols) if !cols.is_empty() && !cols.eq_ignore_ascii_case("DEFAULT") => cols
            .split(',')
            .filter_map(|c| column_key(listing, c.trim()))
            .collect(),
        _ => listing.defaults.iter().map(|s| s.to_string()).collect(),
    };
    for f in listing.forced {
        if !keys.iter().any(|k| k == f) {
            keys.push(f.to_string());
        }
    }
    keys.retain(|k| k != "URI");
    // A column asked for twice is one key of the row (its first place), as in a map.
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    keys.push("URI".into());
    let n_keys = keys.len();

    let render = |table: &mut Table, it: &T| {
        let (text, spans) = (&mut table.text, &mut table.spans);
        for k in &keys[..n_keys - 1] {
            let start = text.len() as u32;
            cell(it, k, text);
            spans.push((start, text.len() as u32));
        }
        let start = text.len() as u32;
        uri(it, text);
        spans.push((start, text.len() as u32));
    };

    let paging = params.has("offset") || params.has("limit");
    let offset: usize = params
        .get_ci("offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let limit: usize = match params.get_ci("limit") {
        Some("*") => usize::MAX,
        Some(v) => v.parse().unwrap_or(100),
        None if paging => 100,
        None => usize::MAX,
    };
    let (offset, limit) = if paging {
        (offset, limit)
    } else {
        (0, usize::MAX)
    };

    let sort_by = params.get_ci("sortBy");
    let rendered = if sort_by.is_some() {
        items.len()
    } else {
        items.len().saturating_sub(offset).min(limit)
    };
    let mut table = Table {
        text: String::with_capacity(rendered * n_keys * 16),
        spans: Vec::with_capacity(rendered * n_keys),
        order: Vec::new(),
        keys: Vec::new(),
    };
    if let Some(sort_by) = sort_by {
        for it in &items {
            render(&mut table, it);
        }
        // Columns the rows do not have compare as "" (equal).
        let cols: Vec<Option<usize>> = sort_by
            .split(',')
            .map(|c| keys.iter().position(|k| k == c.trim()))
            .collect();
        let desc = params
            .get_ci("sortOrder")
            .is_some_and(|o| o.eq_ignore_ascii_case("desc"));
        let cell_at = |row: u32, col: usize| {
            let (a, b) = table.spans[row as usize * n_keys + col];
            &table.text[a as usize..b as usize]
        };
        let mut order: Vec<u32> = (0..items.len() as u32).collect();
        order.sort_by(|&a, &b| {
            let mut ord = std::cmp::Ordering::Equal;
            for c in cols.iter().flatten() {
                ord = ord.then_with(|| cell_at(a, *c).cmp(cell_at(b, *c)));
            }
            if desc {
                ord.reverse()
            } else {
                ord
            }
        });
        table.order = order.into_iter().skip(offset).take(limit).collect();
    } else {
        for it in items.iter().skip(offset).take(limit) {
            render(&mut table, it);
        }
        table.order = (0..rendered as u32).collect();
    }
    table.keys = keys;

    let rs = ResultSet {
        table: Some(table),
        ..Default::default()
    };
    if paging {
        rs
    } else {
        rs.with_total()
    }
}

/// Look up a custom field from an xpath key like `xnat:subjectdata/fields/field[name=k]/field`
/// (already lower-cased) in `fields` (names compared case-insensitively).
pub fn custom_field_cell(key: &str, fields: &BTreeMap<String, String>) -> Option<String> {
    let start = key.find("/fields/field[name=")? + "/fields/field[name=".len();
    let rest = &key[start..];
    let end = rest.find(']')?;
    let name = &rest[..end];
    Some(
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    )
}

/// Whether `columns` names `.../fields/field/name` or `.../fields/field/field`. XNAT's
/// QueryOrganizer then joins the item's field table (`xnat_subjectdata_field`,
/// `xnat_experimentdata_field`): one row per (item, field), and one row with empty cells for an
/// item without fields (a left join). XNAT's own REST test reads a session's variables this way
/// and looks for the row whose name and value match (xnat-rest-tests `TestCustomVariables`).
pub fn wants_field_rows(params: &Params) -> bool {
    params.get_ci("columns").is_some_and(|c| {
        c.split(',').any(|k| {
            let k = k.trim().to_ascii_lowercase();
            k.ends_with("/fields/field/name") || k.ends_with("/fields/field/field")
        })
    })
}

/// The rows of one item under [`wants_field_rows`]: one per field, or one without a field.
pub fn field_rows(fields: &BTreeMap<String, String>) -> Vec<Option<(&str, &str)>> {
    if fields.is_empty() {
        vec![None]
    } else {
        fields
            .iter()
            .map(|(k, v)| Some((k.as_str(), v.as_str())))
            .collect()
    }
}

/// The cell of a `.../fields/field/name` or `.../fields/field/field` column on a field row.
pub fn field_row_cell(key: &str, field: Option<(&str, &str)>) -> Option<String> {
    let k = key.to_ascii_lowercase();
    if k.ends_with("/fields/field/field") {
        Some(field.map(|f| f.1.to_string()).unwrap_or_default())
    } else if k.ends_with("/fields/field/name") {
        Some(field.map(|f| f.0.to_string()).unwrap_or_default())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(params: &[(&str, &str)]) -> String {
        let items = vec![("b", "2"), ("a", "3"), ("c", "1"), ("d", "3")];
        let listing = Listing {
            defaults: &["ID"],
            shortcuts: &["ID", "rank"],
            forced: &[],
            date_keys: &[],
        };
        let params = Params(
            params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        build(
            items,
            &params,
            &listing,
            |it, k| match k {
                "ID" => it.0.to_string(),
                "rank" => it.1.to_string(),
                _ => String::new(),
            },
            |it| format!("/x/{}", it.0),
        )
        .to_json_string()
    }

    #[test]
    fn pages_sorts_filters_and_columns() {
        assert_eq!(
            ids(&[("limit", "2"), ("offset", "1")]),
            r#"{"ResultSet":{"Result":[{"ID":"a","URI":"/x/a"},{"ID":"c","URI":"/x/c"}]}}"#
        );
        assert_eq!(
            ids(&[
                ("columns", "rank,ID,rank"),
                ("sortBy", "rank"),
                ("sortOrder", "DESC"),
                ("limit", "2")
            ]),
            r#"{"ResultSet":{"Result":[{"rank":"3","ID":"a","URI":"/x/a"},{"rank":"3","ID":"d","URI":"/x/d"}]}}"#
        );
        assert_eq!(
            ids(&[("rank", "3"), ("sortBy", "URI"), ("sortOrder", "desc")]),
            r#"{"ResultSet":{"Result":[{"ID":"d","URI":"/x/d"},{"ID":"a","URI":"/x/a"}], "totalRecords": "2"}}"#
        );
        assert_eq!(ids(&[("offset", "9")]), r#"{"ResultSet":{"Result":[]}}"#);
    }

    #[test]
    fn filters_and_dates() {
        assert!(value_matches("abc", "x,a*", false));
        assert!(value_matches("2020-12-17", "12/17/2020", true));
        assert!(value_matches("2020-12-17", "12/01/2020-12/31/2020", true));
        assert!(!value_matches("2021-01-01", "12/01/2020-12/31/2020", true));
    }
}
