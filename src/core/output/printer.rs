//! [`Printer`]: command data on stdout in table, json, tsv or quiet form.

use std::io::{IsTerminal, Write};

use serde_json::{Map, Value};

use super::buffer::Sink;
use super::*;

/// Writes command data to stdout in the chosen format.
pub struct Printer {
    /// Visible to the formatter tests, which swap in a failing sink.
    pub(super) out: Sink,
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
    pub(super) fn list_io(&mut self, listing: &Listing) -> std::io::Result<()> {
        if self.opts.quiet {
            let ids: Vec<String> = listing
                .rows
                .iter()
                .filter_map(|r| id_of(r, Some(&listing.id_field)))
                .collect();
            return self.ids_io(&ids);
        }
        match self.opts.format {
            OutputFormat::Json => {
                let rows: Vec<Value> = listing.rows.iter().cloned().map(Value::Object).collect();
                self.json_io(&Value::Array(rows))
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
    pub(super) fn record_io(&mut self, record: &Record) -> std::io::Result<()> {
        if self.opts.quiet {
            let ids: Vec<String> = id_of(&record.fields, record.id_field.as_deref())
                .into_iter()
                .collect();
            return self.ids_io(&ids);
        }
        match self.opts.format {
            OutputFormat::Json => self.json_io(&Value::Object(record.fields.clone())),
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
    pub(super) fn json_io(&mut self, value: &Value) -> std::io::Result<()> {
        if self.opts.quiet {
            let lines: Vec<String> = match value {
                Value::Array(items) => items.iter().filter_map(quiet_line).collect(),
                other => quiet_line(other).into_iter().collect(),
            };
            return self.ids_io(&lines);
        }
        let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
        writeln!(self.out, "{text}")?;
        self.out.flush()
    }

    /// Print typed rows as the JSON of a listing (what [`Printer::list`] prints for the same
    /// rows as objects), serialised straight into the output without an intermediate `Value`.
    /// Quiet mode is the caller's business: it needs the id field of a [`Listing`].
    pub(super) fn json_rows_io<T: serde::Serialize>(&mut self, rows: &[T]) -> std::io::Result<()> {
        // `From` keeps the kind of a write error (a closed pipe stays `BrokenPipe`).
        serde_json::to_writer_pretty(&mut self.out, rows).map_err(std::io::Error::from)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    /// Print one line of raw text.
    pub(super) fn line_io(&mut self, text: &str) -> std::io::Result<()> {
        writeln!(self.out, "{text}")?;
        self.out.flush()
    }

    /// Print text exactly as given (no newline added).
    pub(super) fn raw_io(&mut self, text: &str) -> std::io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }

    /// Write bytes exactly as given (downloads to stdout, raw API responses).
    pub(super) fn bytes_io(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)?;
        self.out.flush()
    }

    /// Print one id per line.
    pub(super) fn ids_io<I, S>(&mut self, ids: I) -> std::io::Result<()>
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
