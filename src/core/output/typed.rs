//! Typed output: a row or record type says once how it is printed (its columns, its id for
//! `-q`, its labels), its JSON is its serde form, and the printer takes any such value and
//! returns the crate's `Error`, so handlers print with `?` and never look at the format.

use serde::Serialize;
use serde_json::{Map, Value};

use super::*;
use crate::core::error::{Error, Result};

/// A row of a listing. Columns name keys of the row's serde object (`(key, header)`); table
/// and TSV cells are those values, JSON is the whole object, `-q` prints [`Row::ID`].
pub trait Row: Serialize {
    /// `(key, header label)` of the table and TSV columns, in order.
    const COLUMNS: &'static [(&'static str, &'static str)];
    /// The key `-q` prints (falls back to `ID`, `label`, `name`).
    const ID: &'static str;
    /// A title above the table.
    const TITLE: Option<&'static str> = None;
    /// What `-q` prints when it is not one field (a prearchive path): `None` prints [`Row::ID`].
    fn quiet_id(&self) -> Option<String> {
        None
    }
}

/// The hidden field a computed `-q` id travels in (never printed: quiet mode prints only ids).
const QUIET_KEY: &str = "\u{1}quiet";

/// One object shown as aligned `Label  value` lines (table), a one-row TSV, or its JSON.
pub trait Item: Serialize {
    /// The key `-q` prints (falls back to `ID`, `label`, `name`).
    const ID: &'static str;
    /// Labels that replace the derived ones (`secondary_id` → `Secondary ID`), by key.
    const LABELS: &'static [(&'static str, &'static str)] = &[];
    /// A title above the table lines.
    fn title(&self) -> Option<String> {
        None
    }
}

/// A result whose JSON is one document (a plan, a summary) while its table and TSV are rows,
/// one per item, and `-q` prints the rows' ids.
pub trait Report: Serialize {
    /// The row type of the table and TSV forms.
    type Row: Row;
    /// The rows, in order.
    fn rows(&self) -> Vec<Self::Row>;
    /// A title above the table.
    fn title(&self) -> Option<String> {
        None
    }
}

/// Turn a stdout write failure into the crate's error (a broken pipe later exits 0).
pub fn write_error(e: std::io::Error) -> Error {
    Error::io("writing output", e)
}

/// The serde object of one value (rows and records must serialise to objects).
pub fn object_of<T: Serialize + ?Sized>(value: &T) -> Result<Map<String, Value>> {
    match serde_json::to_value(value) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Error::Operation("output value is not an object".into())),
        Err(source) => Err(Error::Json {
            context: "serialising output",
            source,
        }),
    }
}

/// The listing of typed rows after the list controls (filter → sort → limit → columns).
pub fn listing_of<T: Row>(rows: &[T], controls: &ListControls) -> Result<Listing> {
    let mut listing = Listing {
        columns: T::COLUMNS
            .iter()
            .map(|(k, l)| Column::new(*k, *l))
            .collect(),
        rows: rows.iter().map(object_of).collect::<Result<_>>()?,
        id_field: T::ID.to_string(),
        title: T::TITLE.map(str::to_string),
    };
    controls.apply(&mut listing)?;
    Ok(listing)
}

/// Like [`listing_of`], with each row's [`Row::quiet_id`] as its `-q` id.
fn quiet_listing_of<T: Row>(rows: &[T], controls: &ListControls) -> Result<Listing> {
    let mut listing = listing_of(&[] as &[T], &ListControls::default())?;
    for row in rows {
        let mut object = object_of(row)?;
        if let Some(id) = row.quiet_id() {
            object.insert(QUIET_KEY.into(), Value::String(id));
            listing.id_field = QUIET_KEY.into();
        }
        listing.rows.push(object);
    }
    controls.apply(&mut listing)?;
    Ok(listing)
}

/// The record of a typed item.
pub fn record_of<T: Item>(item: &T) -> Result<Record> {
    let mut record = Record::from_map(object_of(item)?);
    record.id_field = Some(T::ID.to_string());
    record.title = item.title();
    for (k, l) in T::LABELS {
        record.label(*k, *l);
    }
    Ok(record)
}

impl Printer {
    /// Print typed rows after the list controls.
    pub fn rows<T: Row>(&mut self, rows: &[T], controls: &ListControls) -> Result<()> {
        let o = self.options();
        let plain =
            controls.filters.is_empty() && controls.sort.is_none() && controls.columns.is_none();
        if o.format == OutputFormat::Json && !o.quiet && plain {
            // Nothing needs generic rows: serialise the typed rows straight out.
            let n = controls.limit.unwrap_or(usize::MAX).min(rows.len());
            return self.json_rows_io(&rows[..n]).map_err(write_error);
        }
        let listing = if o.quiet {
            quiet_listing_of(rows, controls)?
        } else {
            listing_of(rows, controls)?
        };
        self.list(&listing)
    }

    /// Print one typed object.
    pub fn item<T: Item>(&mut self, item: &T) -> Result<()> {
        let record = record_of(item)?;
        self.record(&record)
    }

    /// Print a report: its JSON document, or its rows (table, TSV); `-q` prints the rows'
    /// [`Row::ID`] values, and nothing for a row without one (a skipped item).
    pub fn report<T: Report>(&mut self, report: &T) -> Result<()> {
        let o = self.options();
        if o.quiet {
            let mut ids = Vec::new();
            for row in report.rows() {
                if let Some(Value::String(id)) = object_of(&row)?.remove(T::Row::ID) {
                    if !id.is_empty() {
                        ids.push(id);
                    }
                }
            }
            return self.ids(ids);
        }
        if o.format == OutputFormat::Json {
            return self.value(report);
        }
        let rows = report.rows();
        let mut listing = if o.quiet {
            quiet_listing_of(&rows, &ListControls::default())?
        } else {
            listing_of(&rows, &ListControls::default())?
        };
        if let Some(title) = report.title() {
            listing.title = Some(title);
        }
        self.list(&listing)
    }

    /// Print any serialisable value as a JSON document (ids only under `-q`).
    pub fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let v = serde_json::to_value(value).map_err(|source| Error::Json {
            context: "serialising output",
            source,
        })?;
        self.json(&v)
    }

    /// Print a server's JSON answer (`api get`): JSON as it came, or, in a table, TSV or `-q`,
    /// its rows when it is a listing (a `ResultSet` or an array of objects). A document that is
    /// not a listing prints as JSON in every format, `-q` included.
    pub fn document(&mut self, value: &Value, controls: &ListControls) -> Result<()> {
        let o = self.options();
        if o.format == OutputFormat::Json && !o.quiet {
            return self.json(value);
        }
        let rows = value
            .pointer("/ResultSet/Result")
            .and_then(Value::as_array)
            .or_else(|| value.as_array())
            .and_then(|rows| {
                rows.iter()
                    .map(|r| r.as_object().cloned())
                    .collect::<Option<Vec<_>>>()
            });
        match rows {
            Some(rows) => {
                let listing = open_listing(rows, controls)?;
                self.list(&listing)
            }
            None => {
                let text = serde_json::to_string_pretty(value).map_err(|source| Error::Json {
                    context: "serialising output",
                    source,
                })?;
                self.line(&text)
            }
        }
    }

    /// For a command whose JSON is a document of its own (`auth login`, `health ping`): `json`
    /// under `-o json`, else `human` (a record; `None` prints nothing and the status lines on
    /// stderr say it all).
    pub fn either<J: Serialize + ?Sized>(
        &mut self,
        json: &J,
        human: Option<&Record>,
    ) -> Result<()> {
        let o = self.options();
        if o.format == OutputFormat::Json && !o.quiet {
            return self.value(json);
        }
        match human {
            Some(record) => self.record(record),
            None => Ok(()),
        }
    }

    /// Print a listing (generic rows: `api get`, `search run`).
    pub fn list(&mut self, listing: &Listing) -> Result<()> {
        self.list_io(listing).map_err(write_error)
    }

    /// Print one generic record.
    pub fn record(&mut self, record: &Record) -> Result<()> {
        self.record_io(record).map_err(write_error)
    }

    /// Print a JSON document (pretty, 2-space indent); under `-q` an object prints its id, an
    /// array one id (or scalar) per element, a scalar itself.
    pub fn json(&mut self, value: &Value) -> Result<()> {
        self.json_io(value).map_err(write_error)
    }

    /// Print one line of raw text.
    pub fn line(&mut self, text: &str) -> Result<()> {
        self.line_io(text).map_err(write_error)
    }

    /// Print text exactly as given (no newline added).
    pub fn raw(&mut self, text: &str) -> Result<()> {
        self.raw_io(text).map_err(write_error)
    }

    /// Write bytes exactly as given (downloads to stdout, raw API responses).
    pub fn bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.bytes_io(bytes).map_err(write_error)
    }

    /// Print one id per line.
    pub fn ids<I, S>(&mut self, ids: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.ids_io(ids).map_err(write_error)
    }
}

/// A listing of rows whose columns are only known at run time (`search run`, `api get`): every
/// key in first-seen order, headed by the key as the server names it; `-q` prints `ID`, `id`,
/// `label` or `name`.
pub fn open_listing(rows: Vec<Map<String, Value>>, controls: &ListControls) -> Result<Listing> {
    let mut keys: Vec<&String> = Vec::new();
    for k in rows.iter().flat_map(|r| r.keys()) {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let id_field = ["ID", "id", "label", "name"]
        .into_iter()
        .find(|k| keys.iter().any(|x| x.as_str() == *k))
        .unwrap_or("id")
        .to_string();
    let columns = keys.iter().map(|k| Column::new(*k, *k)).collect();
    let mut listing = Listing {
        columns,
        rows,
        id_field,
        title: None,
    };
    controls.apply(&mut listing)?;
    Ok(listing)
}
