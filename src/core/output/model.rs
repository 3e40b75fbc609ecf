//! The data model handed to the formatter: output format and options, and the [`Listing`] and
//! [`Record`] shapes every command's result is turned into.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::*;

/// How data is written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Aligned table (the default).
    #[default]
    Table,
    /// Pretty JSON.
    Json,
    /// Tab-separated values.
    Tsv,
}

/// Output settings decided once by the CLI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputOptions {
    /// The data format.
    pub format: OutputFormat,
    /// Print only ids (wins over every format).
    pub quiet: bool,
    /// Leave out the header row of tables and TSV.
    pub no_headers: bool,
    /// Use ANSI colour and styling (terminal, no `NO_COLOR`, no `--no-color`, `CLICOLOR != 0`).
    pub color: bool,
}

/// One column of a listing: the row key and its header label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Key in each row object.
    pub key: String,
    /// Table header label.
    pub label: String,
}

impl Column {
    /// A column with an explicit label.
    pub fn new(key: impl Into<String>, label: impl Into<String>) -> Self {
        Column {
            key: key.into(),
            label: label.into(),
        }
    }

    /// A column labelled from its key (`subject_ID` → `Subject ID`, `buildNumber` → `Build Number`).
    pub fn auto(key: &str) -> Self {
        Column::new(key, table::label_for(key))
    }
}

/// Rows of objects with their columns and id field: what list commands print.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    /// Columns for table and TSV output (empty: every key, in first-seen order). JSON output
    /// always shows whole rows.
    pub columns: Vec<Column>,
    /// The rows.
    pub rows: Vec<Map<String, Value>>,
    /// The key printed by `--quiet` (falls back to `ID`, `label`, `name`).
    pub id_field: String,
    /// Optional title shown above the table.
    pub title: Option<String>,
}

/// One object shown as aligned `Label  value` lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// Optional title shown above the lines.
    pub title: Option<String>,
    /// The fields, in insertion order.
    pub fields: Map<String, Value>,
    /// Labels that replace the derived ones, by key.
    pub labels: BTreeMap<String, String>,
    /// The key printed by `--quiet` (falls back to `ID`, `label`, `name`).
    pub id_field: Option<String>,
}

impl Record {
    /// An empty record.
    pub fn new() -> Self {
        Record::default()
    }

    /// A record holding `fields`.
    pub fn from_map(fields: Map<String, Value>) -> Self {
        Record {
            fields,
            ..Record::default()
        }
    }

    /// Add or replace a field.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        self.fields.insert(key.into(), value);
    }

    /// Use `label` for `key` instead of the derived label.
    pub fn label(&mut self, key: impl Into<String>, label: impl Into<String>) {
        self.labels.insert(key.into(), label.into());
    }
}
