//! The one formatter: every byte of command output goes through [`Printer`] (data on stdout) or
//! [`Messages`] (status lines on stderr), so formats, colour, quiet mode and redaction behave
//! the same in every command.
//!
//! Writes return `std::io::Result`; the CLI treats `BrokenPipe` on stdout as a quiet exit 0.

mod controls;
pub mod table;
pub mod tsv;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

pub use controls::ListControls;

use crate::core::error::Error;
use crate::core::redact::redact;

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

/// A shared in-memory sink, used by tests to read what was printed.
#[derive(Debug, Clone, Default)]
pub struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// Everything written so far, as UTF-8 (lossy).
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Handles on what a buffered [`Printer`] or [`Messages`] wrote.
#[derive(Debug, Clone, Default)]
pub struct OutputBuffer {
    out: SharedBuffer,
    err: SharedBuffer,
}

impl OutputBuffer {
    /// What went to "stdout".
    pub fn stdout(&self) -> String {
        self.out.contents()
    }
    /// What went to "stderr".
    pub fn stderr(&self) -> String {
        self.err.contents()
    }
}

type Sink = Box<dyn Write + Send>;

/// Writes command data to stdout in the chosen format.
pub struct Printer {
    out: Sink,
    err: Sink,
    opts: OutputOptions,
    width: Option<u16>,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("opts", &self.opts)
            .field("width", &self.width)
            .finish()
    }
}

impl Printer {
    /// A printer on the process's stdout (and stderr for `No results`). Tables follow the
    /// terminal width only when stdout is a terminal.
    pub fn stdout(opts: OutputOptions) -> Self {
        let width = if std::io::stdout().is_terminal() {
            terminal_width()
        } else {
            None
        };
        // `Stdout` flushes at every newline: 10 000 JSON rows would be 60 000 write calls.
        // Every method below flushes once when it is done.
        Printer {
            out: Box::new(std::io::BufWriter::with_capacity(
                64 * 1024,
                std::io::stdout(),
            )),
            err: Box::new(std::io::stderr()),
            opts,
            width,
        }
    }

    /// A printer writing into memory; the handle reads what was written.
    pub fn buffer(opts: OutputOptions) -> (Self, OutputBuffer) {
        let handle = OutputBuffer::default();
        let printer = Printer {
            out: Box::new(handle.out.clone()),
            err: Box::new(handle.err.clone()),
            opts,
            width: None,
        };
        (printer, handle)
    }

    /// Wrap tables to `width` columns (`None`: never wrap or truncate).
    pub fn with_width(mut self, width: Option<u16>) -> Self {
        self.width = width;
        self
    }

    /// The options in use.
    pub fn options(&self) -> &OutputOptions {
        &self.opts
    }

    /// Print a listing: ids (quiet), JSON rows, TSV, or a table; an empty table prints
    /// `No results` on stderr and nothing on stdout.
    pub fn list(&mut self, listing: &Listing) -> std::io::Result<()> {
        if self.opts.quiet {
            let ids: Vec<String> = listing
                .rows
                .iter()
                .filter_map(|r| id_of(r, Some(&listing.id_field)))
                .collect();
            return self.ids(&ids);
        }
        match self.opts.format {
            OutputFormat::Json => {
                let rows: Vec<Value> = listing.rows.iter().cloned().map(Value::Object).collect();
                self.json(&Value::Array(rows))
            }
            OutputFormat::Tsv => {
                let columns = listing.effective_columns();
                if !self.opts.no_headers && !columns.is_empty() {
                    writeln!(self.out, "{}", tsv::line(columns.iter().map(|c| &c.key)))?;
                }
                for row in &listing.rows {
                    let cells = columns.iter().map(|c| tsv::cell(row.get(&c.key)));
                    writeln!(self.out, "{}", tsv::line(cells))?;
                }
                self.out.flush()
            }
            OutputFormat::Table => {
                if listing.rows.is_empty() {
                    let msg = ansi::paint(self.opts.color, ansi::DIM, "No results");
                    writeln!(self.err, "{msg}")?;
                    return self.err.flush();
                }
                if let Some(title) = &listing.title {
                    let t = table::sanitize(title);
                    writeln!(self.out, "{}", ansi::paint(self.opts.color, ansi::BOLD, &t))?;
                }
                let columns = listing.effective_columns();
                let text = table::render(
                    &columns,
                    &listing.rows,
                    !self.opts.no_headers,
                    self.opts.color,
                    self.width,
                );
                writeln!(self.out, "{text}")?;
                self.out.flush()
            }
        }
    }

    /// Print one object: its id (quiet), JSON, a TSV header and row, or key/value lines.
    pub fn record(&mut self, record: &Record) -> std::io::Result<()> {
        if self.opts.quiet {
            let ids: Vec<String> = id_of(&record.fields, record.id_field.as_deref())
                .into_iter()
                .collect();
            return self.ids(&ids);
        }
        match self.opts.format {
            OutputFormat::Json => self.json(&Value::Object(record.fields.clone())),
            OutputFormat::Tsv => {
                if !self.opts.no_headers {
                    writeln!(self.out, "{}", tsv::line(record.fields.keys()))?;
                }
                let cells = record.fields.values().map(|v| tsv::cell(Some(v)));
                writeln!(self.out, "{}", tsv::line(cells))?;
                self.out.flush()
            }
            OutputFormat::Table => {
                if let Some(title) = &record.title {
                    let t = table::sanitize(title);
                    writeln!(self.out, "{}", ansi::paint(self.opts.color, ansi::BOLD, &t))?;
                }
                let fields: Vec<(String, &Value)> = record
                    .fields
                    .iter()
                    .map(|(k, v)| {
                        let label = record
                            .labels
                            .get(k)
                            .cloned()
                            .unwrap_or_else(|| table::label_for(k));
                        (label, v)
                    })
                    .collect();
                self.out
                    .write_all(table::key_values(&fields, self.opts.color).as_bytes())?;
                self.out.flush()
            }
        }
    }

    /// Print a JSON document (pretty, 2-space indent). In quiet mode an object prints its id,
    /// an array one id (or scalar) per element, and a scalar itself.
    pub fn json(&mut self, value: &Value) -> std::io::Result<()> {
        if self.opts.quiet {
            let lines: Vec<String> = match value {
                Value::Array(items) => items.iter().filter_map(quiet_line).collect(),
                other => quiet_line(other).into_iter().collect(),
            };
            return self.ids(&lines);
        }
        let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
        writeln!(self.out, "{text}")?;
        self.out.flush()
    }

    /// Print typed rows as the JSON of a listing (what [`Printer::list`] prints for the same
    /// rows as objects), serialised straight into the output without an intermediate `Value`.
    /// Quiet mode is the caller's business: it needs the id field of a [`Listing`].
    pub fn json_rows<T: serde::Serialize>(&mut self, rows: &[T]) -> std::io::Result<()> {
        // `From` keeps the kind of a write error (a closed pipe stays `BrokenPipe`).
        serde_json::to_writer_pretty(&mut self.out, rows).map_err(std::io::Error::from)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    /// Print one line of raw text.
    pub fn line(&mut self, text: &str) -> std::io::Result<()> {
        writeln!(self.out, "{text}")?;
        self.out.flush()
    }

    /// Print text exactly as given (no newline added).
    pub fn raw(&mut self, text: &str) -> std::io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }

    /// Write bytes exactly as given (downloads to stdout, raw API responses).
    pub fn bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)?;
        self.out.flush()
    }

    /// Print one id per line.
    pub fn ids<I, S>(&mut self, ids: I) -> std::io::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for id in ids {
            writeln!(self.out, "{}", tsv::clean(id.as_ref()))?;
        }
        self.out.flush()
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// The id of a row: `id_field`, else `ID`, `label`, `name`.
fn id_of(row: &Map<String, Value>, id_field: Option<&str>) -> Option<String> {
    id_field
        .into_iter()
        .filter(|f| !f.is_empty())
        .chain(["ID", "label", "name"])
        .find_map(|k| row.get(k).and_then(scalar_text))
}

fn quiet_line(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) => id_of(m, None),
        other => scalar_text(other),
    }
}

fn terminal_width() -> Option<u16> {
    let probe = comfy_table::Table::new();
    probe.width().or_else(|| {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse().ok())
    })
}

/// ANSI styling helpers (only applied when colour is on).
pub(crate) mod ansi {
    pub const BOLD: &str = "\x1b[1m";
    pub const DIM: &str = "\x1b[2m";
    pub const RED: &str = "\x1b[31m";
    pub const GREEN: &str = "\x1b[32m";
    pub const YELLOW: &str = "\x1b[33m";
    const RESET: &str = "\x1b[0m";

    pub fn paint(on: bool, style: &str, text: &str) -> String {
        if on {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// Status lines on stderr: success, warnings, info, errors with hints, dry-run notes. Every
/// message is redacted and stripped of control characters, and never wrapped.
#[derive(Clone)]
pub struct Messages {
    sink: Arc<Mutex<Sink>>,
    color: bool,
    quiet: bool,
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messages")
            .field("color", &self.color)
            .field("quiet", &self.quiet)
            .finish()
    }
}

impl Messages {
    /// Messages on the process's stderr. `quiet` hides success and info lines.
    pub fn new(color: bool, quiet: bool) -> Self {
        Messages {
            sink: Arc::new(Mutex::new(Box::new(std::io::stderr()))),
            color,
            quiet,
        }
    }

    /// Messages written into memory; read them with [`OutputBuffer::stderr`].
    pub fn buffer(color: bool, quiet: bool) -> (Self, OutputBuffer) {
        let handle = OutputBuffer::default();
        let m = Messages {
            sink: Arc::new(Mutex::new(Box::new(handle.err.clone()))),
            color,
            quiet,
        };
        (m, handle)
    }

    /// True when colour is on.
    pub fn color(&self) -> bool {
        self.color
    }

    fn emit(&self, prefix: &str, msg: &str) {
        let text = clean_message(&redact(msg));
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        // A closed stderr is not worth failing the command for.
        let _ = writeln!(sink, "{prefix}{text}");
        let _ = sink.flush();
    }

    /// `✓ msg` (hidden in quiet mode).
    pub fn success(&self, msg: &str) {
        if !self.quiet {
            self.emit(
                &format!("{} ", ansi::paint(self.color, ansi::GREEN, "✓")),
                msg,
            );
        }
    }

    /// `warning: msg`.
    pub fn warn(&self, msg: &str) {
        let p = ansi::paint(self.color, ansi::YELLOW, "warning:");
        self.emit(&format!("{p} "), msg);
    }

    /// A plain informational line (hidden in quiet mode).
    pub fn info(&self, msg: &str) {
        if !self.quiet {
            self.emit("", msg);
        }
    }

    /// `hint: msg`.
    pub fn hint(&self, msg: &str) {
        let p = ansi::paint(self.color, ansi::DIM, "hint:");
        self.emit(&format!("{p} "), msg);
    }

    /// `error: <message>` and, when the error has one, `hint: <hint>`.
    pub fn error(&self, err: &Error) {
        let p = ansi::paint(self.color, ansi::RED, "error:");
        self.emit(&format!("{p} "), &err.to_string());
        if let Some(h) = err.hint() {
            self.hint(&h);
        }
    }

    /// `[dry-run] msg`.
    pub fn dry_run(&self, msg: &str) {
        let p = ansi::paint(self.color, ansi::YELLOW, "[dry-run]");
        self.emit(&format!("{p} "), msg);
    }
}

/// Drop control characters (escape sequences from server text) but keep newlines and tabs.
fn clean_message(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

#[cfg(test)]
mod tests;
