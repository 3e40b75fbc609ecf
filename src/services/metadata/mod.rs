//! Metadata at scale: a project's subjects or sessions with their standard fields and custom
//! variables as one table (`vars export`), and a table edited in a spreadsheet pushed back
//! (`vars apply`): matched by id or label, diffed, only changed values written, then re-read to
//! confirm what XNAT kept.
//!
//! Request budget, whatever the project's size: a snapshot is two requests (the project document
//! for its variable sets, and one project-wide listing that joins the custom field table:
//! `columns=...,<type>/fields/field/name,<type>/fields/field/field` answers one row per object
//! and field); an apply adds one PUT per changed object and one listing to confirm.

pub mod sheet;

use std::collections::{BTreeMap, HashMap};

use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::{seg, XnatClient};
use crate::core::output::{Column, ListControls, Listing, Row};
use crate::core::validation::{validate_custom_field_name, validate_project_id};
use crate::core::{Error, Result};
use crate::services::projects::cell;
use sheet::{Sheet, SheetRow};

/// Which objects a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// One row per subject.
    Subject,
    /// One row per session (image session or other subject assessor).
    Session,
}

impl Level {
    /// The level a sheet was exported at: a `subject` column means one row per session.
    pub fn of_sheet(sheet: &Sheet) -> Level {
        if sheet
            .columns
            .iter()
            .any(|c| c.eq_ignore_ascii_case("subject"))
        {
            Level::Session
        } else {
            Level::Subject
        }
    }

    /// `subject` / `session`.
    pub fn noun(self) -> &'static str {
        match self {
            Level::Subject => "subject",
            Level::Session => "session",
        }
    }

    fn standard(self) -> &'static [Std] {
        match self {
            Level::Subject => SUBJECT_COLUMNS,
            Level::Session => SESSION_COLUMNS,
        }
    }

    /// The column of custom variable `name`: its name, or `var:NAME` when a standard column
    /// has that name (a subject variable called `group` next to the `group` field).
    pub fn column_of(self, name: &str) -> String {
        if self.standard().iter().any(|s| s.name == name) {
            format!("{VAR_PREFIX}{name}")
        } else {
            name.to_string()
        }
    }

    /// The listing's root type, whose xpaths name the custom field table.
    fn root(self) -> &'static str {
        match self {
            Level::Subject => "xnat:subjectData",
            // The project experiment listing's root element (fidelity spec §7.1); `fields` is
            // declared on xnat:experimentData and XFT resolves it through the extension chain.
            Level::Session => "xnat:subjectAssessorData",
        }
    }
}

/// The prefix of a custom variable column whose name a standard column already has.
pub const VAR_PREFIX: &str = "var:";

/// A standard column: its name in the sheet, the listing's key, and whether a PUT may set it
/// (through the same shortcut name).
struct Std {
    name: &'static str,
    key: &'static str,
    writable: bool,
    date: bool,
}

const fn std(name: &'static str, key: &'static str, writable: bool, date: bool) -> Std {
    Std {
        name,
        key,
        writable,
        date,
    }
}

const SUBJECT_COLUMNS: &[Std] = &[
    std("id", "ID", false, false),
    std("label", "label", false, false),
    std("group", "group", true, false),
    std("src", "src", true, false),
    std("gender", "gender", true, false),
    std("handedness", "handedness", true, false),
    std("yob", "yob", true, false),
    std("dob", "dob", true, true),
];

const SESSION_COLUMNS: &[Std] = &[
    std("id", "ID", false, false),
    std("label", "label", false, false),
    std("subject", "subject_label", false, false),
    std("type", "xsiType", false, false),
    std("date", "date", true, true),
    std("visit_id", "visit_id", true, false),
    std("note", "note", true, false),
];

/// One typed field of a project variable set (`xnat:fieldDefinitionGroup`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// Name, lower-cased (XNAT stores custom field names lower-cased).
    pub name: String,
    /// `string`, `integer`, `float`, `boolean`, `date`.
    pub datatype: String,
    /// Allowed values (empty: any).
    pub values: Vec<String>,
    /// The data type the set applies to.
    pub data_type: String,
    /// The set's ID.
    pub set: String,
}

/// One subject or session as the listing showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Accession ID.
    pub id: String,
    /// Label in the project.
    pub label: String,
    /// Owning project (the PUT goes there).
    pub owner: String,
    /// Sessions: subject accession ID.
    pub subject_id: String,
    /// Sessions: schema type.
    pub xsi_type: String,
    /// Standard values by sheet column name, custom values by lower-cased name.
    pub values: BTreeMap<String, String>,
}

/// A project's subjects or sessions with every standard and custom value.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// What the rows are.
    pub level: Level,
    /// The project listed.
    pub project: String,
    /// Custom variable names: the variable sets' fields first (in their order), then the
    /// free-form ones found on objects (sorted).
    pub custom: Vec<String>,
    /// The variable sets' typed fields for this level.
    pub definitions: Vec<Definition>,
    /// The objects, in listing order.
    pub objects: Vec<Object>,
}

impl Snapshot {
    /// Every column: standard ones, then custom ones.
    pub fn columns(&self) -> Vec<String> {
        self.level
            .standard()
            .iter()
            .map(|s| s.name.to_string())
            .chain(self.custom.iter().cloned())
            .collect()
    }
}

/// The variable sets of `project` for `level`, from the project document's study protocols.
pub fn definitions_of(doc: &Value, level: Level) -> Vec<Definition> {
    let children = |node: &Value, field: &str| -> Vec<Value> {
        node.get("children")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|c| c.get("field").and_then(Value::as_str) == Some(field))
            .flat_map(|c| {
                c.get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    };
    let text = |node: &Value, key: &str| -> String {
        node.get("data_fields")
            .and_then(Value::as_object)
            .map(|f| cell(f, key))
            .unwrap_or_default()
    };
    let mut out: Vec<Definition> = Vec::new();
    let Some(project) = doc.pointer("/items/0") else {
        return out;
    };
    for protocol in children(project, "studyProtocol") {
        for group in children(&protocol, "definitions/definition") {
            let data_type = text(&group, "data-type");
            let for_subjects = data_type.eq_ignore_ascii_case("xnat:subjectData");
            if for_subjects != (level == Level::Subject) {
                continue;
            }
            for f in children(&group, "fields/field") {
                let name = text(&f, "name").to_lowercase();
                if name.is_empty() || out.iter().any(|d| d.name == name) {
                    continue;
                }
                out.push(Definition {
                    name,
                    datatype: text(&f, "datatype").to_ascii_lowercase(),
                    values: children(&f, "possibleValues/possibleValue")
                        .iter()
                        .map(|v| text(v, "possibleValue"))
                        .collect(),
                    data_type: data_type.clone(),
                    set: text(&group, "ID"),
                });
            }
        }
    }
    out
}

fn listing_path(project: &str, level: Level) -> Result<String> {
    let p = seg(&validate_project_id(project)?)?;
    Ok(match level {
        Level::Subject => format!("/data/projects/{p}/subjects"),
        Level::Session => format!("/data/projects/{p}/experiments"),
    })
}

/// The objects of the project-wide listing that joins the custom field table (one request).
pub async fn list_objects(client: &XnatClient, project: &str, level: Level) -> Result<Vec<Object>> {
    let root = level.root();
    let name_key = format!("{root}/fields/field/name");
    let value_key = format!("{root}/fields/field/field");
    let mut columns: Vec<String> = level.standard().iter().map(|s| s.key.to_string()).collect();
    columns.push("project".into());
    if level == Level::Session {
        columns.push("subject_ID".into());
    }
    columns.push(name_key.clone());
    columns.push(value_key.clone());
    let columns = columns.join(",");
    let rows = client
        .list_rows(&listing_path(project, level)?, &[("columns", &columns)])
        .await
        .map_err(|e| e.naming_not_found("project", project))?;
    let get = |r: &Map<String, Value>, key: &str| -> String {
        match r.get(key) {
            Some(_) => cell(r, key),
            None => r
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(k, _)| cell(r, k))
                .unwrap_or_default(),
        }
    };
    let mut objects: Vec<Object> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for r in &rows {
        let id = get(r, "ID");
        let i = *at.entry(id.clone()).or_insert_with(|| {
            let values = level
                .standard()
                .iter()
                .map(|s| (s.name.to_string(), get(r, s.key)))
                .collect();
            objects.push(Object {
                id: id.clone(),
                label: get(r, "label"),
                owner: get(r, "project"),
                subject_id: get(r, "subject_ID"),
                xsi_type: get(r, "xsiType"),
                values,
            });
            objects.len() - 1
        });
        let name = get(r, &name_key).to_lowercase();
        if !name.is_empty() {
            objects[i]
                .values
                .insert(level.column_of(&name), get(r, &value_key));
        }
    }
    Ok(objects)
}

/// Two requests: the project document (variable sets) and the joined listing.
pub async fn snapshot(client: &XnatClient, project: &str, level: Level) -> Result<Snapshot> {
    let project = validate_project_id(project)?;
    let doc = client
        .get_json(&format!("/data/projects/{}", seg(&project)?), &[])
        .await
        .map_err(|e| e.naming_not_found("project", &project))?;
    let definitions = definitions_of(&doc, level);
    let objects = list_objects(client, &project, level).await?;
    let standard: Vec<&str> = level.standard().iter().map(|s| s.name).collect();
    let mut free: Vec<String> = objects
        .iter()
        .flat_map(|o| o.values.keys())
        .filter(|k| {
            !standard.contains(&k.as_str())
                && !definitions.iter().any(|d| &level.column_of(&d.name) == *k)
        })
        .cloned()
        .collect();
    free.sort();
    free.dedup();
    let custom = definitions
        .iter()
        .map(|d| level.column_of(&d.name))
        .chain(free)
        .collect();
    Ok(Snapshot {
        level,
        project,
        custom,
        definitions,
        objects,
    })
}

/// What `vars export` keeps: `--filter FIELD:GLOB` and `--columns`.
pub fn export_sheet(
    snap: &Snapshot,
    controls: &ListControls,
    columns: Option<&str>,
) -> Result<Sheet> {
    let all = snap.columns();
    let chosen: Vec<String> = match columns {
        None => all.clone(),
        Some(list) => {
            let mut out = vec!["id".to_string(), "label".to_string()];
            for c in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                let Some(name) = all.iter().find(|a| a.eq_ignore_ascii_case(c)) else {
                    return Err(Error::usage(format!(
                        "unknown column '{c}'; available columns: {}",
                        all.join(", ")
                    )));
                };
                if !out.contains(name) {
                    out.push(name.clone());
                }
            }
            out
        }
    };
    let mut listing = Listing {
        columns: all
            .iter()
            .map(|c| Column::new(c.as_str(), c.as_str()))
            .collect(),
        rows: snap
            .objects
            .iter()
            .map(|o| {
                all.iter()
                    .map(|c| {
                        let v = o.values.get(c).cloned().unwrap_or_default();
                        (c.clone(), Value::from(v))
                    })
                    .collect()
            })
            .collect(),
        id_field: "id".into(),
        title: None,
    };
    controls.apply(&mut listing)?;
    Ok(Sheet {
        rows: listing
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| SheetRow {
                line: i + 2,
                cells: chosen.iter().map(|c| cell(r, c)).collect(),
            })
            .collect(),
        columns: chosen,
        unit: "line",
    })
}

/// One value to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The object's label.
    pub object: String,
    /// Its accession ID.
    pub id: String,
    /// The column (custom names lower-cased).
    pub field: String,
    /// The server's value.
    pub old: String,
    /// The file's value.
    pub new: String,
    /// The file line it came from.
    #[serde(skip)]
    pub line: usize,
    /// Whether it is a standard field (sent by its shortcut) or a custom variable.
    #[serde(skip)]
    pub standard: bool,
}

/// What an apply would do.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Changed values, grouped by object in file order.
    pub changes: Vec<Change>,
    /// Rows read.
    pub rows: usize,
    /// Values the variable sets' types or value lists would refuse in XNAT's form (XNAT's REST
    /// path stores them anyway).
    pub warnings: Vec<String>,
}

impl Plan {
    /// The objects with changes, in order.
    pub fn object_ids(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in &self.changes {
            if out.last() != Some(&c.id) {
                out.push(c.id.clone());
            }
        }
        out
    }
}

/// How a column of the file maps onto the project.
enum Target {
    Key,
    ReadOnly(&'static str),
    Standard(&'static str, bool),
    Custom(String),
}

/// `YYYY-MM-DD` for `YYYY-MM-DD` or `MM/DD/YYYY` (Excel rewrites dates in the latter form), else
/// the text unchanged.
pub fn normalize_date(v: &str) -> String {
    let t = v.trim();
    let parts: Vec<&str> = t.split('/').collect();
    if let [m, d, y] = parts[..] {
        if let (Ok(m), Ok(d), Ok(y)) = (m.parse::<u32>(), d.parse::<u32>(), y.parse::<u32>()) {
            if (1..=12).contains(&m) && (1..=31).contains(&d) && y > 999 {
                return format!("{y:04}-{m:02}-{d:02}");
            }
        }
    }
    t.split(' ').next().unwrap_or(t).to_string()
}

/// Match the file's rows to the snapshot and list the values that differ. Every problem of the
/// file (unknown column, unmatched or duplicated rows, a read-only column changed) is collected
/// and returned as one error naming the lines, before anything is written.
pub fn plan(snap: &Snapshot, file: &Sheet, add_vars: bool) -> Result<Plan> {
    let unit = if file.unit.is_empty() {
        "line"
    } else {
        file.unit
    };
    let standard = snap.level.standard();
    let mut problems: Vec<String> = Vec::new();
    let mut targets: Vec<Target> = Vec::new();
    let known_custom = |c: &str| snap.custom.iter().any(|k| k == c);
    for col in &file.columns {
        let lower = col.to_lowercase();
        let t = if let Some(s) = standard.iter().find(|s| s.name == lower) {
            if s.name == "id" || s.name == "label" {
                Target::Key
            } else if s.writable {
                Target::Standard(s.name, s.date)
            } else {
                Target::ReadOnly(s.name)
            }
        } else if known_custom(&lower) {
            Target::Custom(lower)
        } else if add_vars {
            let bare = lower.strip_prefix(VAR_PREFIX).unwrap_or(&lower);
            match validate_custom_field_name(bare) {
                Ok(_) => Target::Custom(snap.level.column_of(bare)),
                Err(e) => {
                    problems.push(format!("line 1: column '{col}': {e}"));
                    Target::Key
                }
            }
        } else {
            problems.push(format!(
                "line 1: unknown column '{col}': not a standard {} field nor a variable of {} \
                 (--add-vars adds it as a new variable)",
                snap.level.noun(),
                snap.project
            ));
            Target::Key
        };
        targets.push(t);
    }
    let id_col = file
        .columns
        .iter()
        .position(|c| c.eq_ignore_ascii_case("id"));
    let label_col = file
        .columns
        .iter()
        .position(|c| c.eq_ignore_ascii_case("label"));
    if id_col.is_none() && label_col.is_none() {
        problems.push("line 1: the file needs an 'id' or a 'label' column".into());
    }
    if !problems.is_empty() {
        return Err(Error::InvalidInput(problems.join("\n")));
    }
    let by_id: HashMap<String, usize> = snap
        .objects
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id.to_ascii_lowercase(), i))
        .collect();
    let mut by_label: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, o) in snap.objects.iter().enumerate() {
        by_label.entry(o.label.to_lowercase()).or_default().push(i);
    }
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut out = Plan {
        rows: file.rows.len(),
        ..Plan::default()
    };
    for row in &file.rows {
        let id = id_col.map(|c| file.cell(row, c).trim()).unwrap_or("");
        let label = label_col.map(|c| file.cell(row, c).trim()).unwrap_or("");
        let found = if !id.is_empty() {
            match by_id.get(&id.to_ascii_lowercase()) {
                Some(&i)
                    if !label.is_empty() && !snap.objects[i].label.eq_ignore_ascii_case(label) =>
                {
                    problems.push(format!(
                        "{unit} {}: {} {id} is labelled '{}' in {}, the file says '{label}' \
                         (labels are not changed here)",
                        row.line,
                        snap.level.noun(),
                        snap.objects[i].label,
                        snap.project
                    ));
                    None
                }
                Some(&i) => Some(i),
                None => {
                    problems.push(format!(
                        "{unit} {}: no {} with id '{id}' in {}",
                        row.line,
                        snap.level.noun(),
                        snap.project
                    ));
                    None
                }
            }
        } else if !label.is_empty() {
            match by_label.get(&label.to_lowercase()).map(Vec::as_slice) {
                Some([i]) => Some(*i),
                Some(_) => {
                    problems.push(format!(
                        "{unit} {}: label '{label}' names several {}s in {}; give the id",
                        row.line,
                        snap.level.noun(),
                        snap.project
                    ));
                    None
                }
                None => {
                    problems.push(format!(
                        "{unit} {}: no {} labelled '{label}' in {}",
                        row.line,
                        snap.level.noun(),
                        snap.project
                    ));
                    None
                }
            }
        } else {
            problems.push(format!("{unit} {}: no id and no label", row.line));
            None
        };
        let Some(i) = found else { continue };
        if let Some(first) = seen.insert(i, row.line) {
            problems.push(format!(
                "{unit} {}: {} {} is already on {unit} {first}",
                row.line,
                snap.level.noun(),
                snap.objects[i].label
            ));
            continue;
        }
        let o = &snap.objects[i];
        for (c, t) in targets.iter().enumerate() {
            let new = file.cell(row, c);
            let (field, standard, date) = match t {
                Target::Key => continue,
                Target::ReadOnly(name) => {
                    let old = o.values.get(*name).map(String::as_str).unwrap_or("");
                    if new.trim() != old.trim() {
                        problems.push(format!(
                            "{unit} {}: column '{name}' cannot be changed here ('{old}' -> '{new}')",
                            row.line
                        ));
                    }
                    continue;
                }
                Target::Standard(name, date) => (name.to_string(), true, *date),
                Target::Custom(name) => (name.clone(), false, false),
            };
            let old = o.values.get(&field).cloned().unwrap_or_default();
            let same = if date {
                normalize_date(&old) == normalize_date(new)
            } else {
                old == new
            };
            if same {
                continue;
            }
            if let Some(d) = snap
                .definitions
                .iter()
                .find(|d| snap.level.column_of(&d.name) == field)
            {
                if let Some(w) = type_warning(d, new) {
                    out.warnings.push(format!(
                        "{unit} {}: {}.{field} = '{new}' {w} (variable set '{}'); XNAT stores it \
                         as text but its form will flag it",
                        row.line, o.label, d.set
                    ));
                }
            }
            out.changes.push(Change {
                object: o.label.clone(),
                id: o.id.clone(),
                field,
                old,
                new: if date && !new.is_empty() {
                    normalize_date(new)
                } else {
                    new.to_string()
                },
                line: row.line,
                standard,
            });
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidInput(problems.join("\n")));
    }
    Ok(out)
}

/// Why a value does not fit its definition, if it does not.
fn type_warning(d: &Definition, v: &str) -> Option<String> {
    if v.is_empty() {
        return None;
    }
    let fits = match d.datatype.as_str() {
        "integer" | "int" => v.trim().parse::<i64>().is_ok(),
        "float" | "double" => v.trim().parse::<f64>().is_ok(),
        "boolean" => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
        "date" => normalize_date(v) != v.trim() || v.trim().len() == 10 && v.contains('-'),
        _ => true,
    };
    if !fits {
        return Some(format!("is not of type {}", d.datatype));
    }
    if !d.values.is_empty() && !d.values.iter().any(|p| p == v) {
        return Some(format!("is not one of {}", d.values.join(", ")));
    }
    None
}

/// Write one object's changed values in one PUT: standard fields by their shortcut names,
/// custom variables as `<type>/fields/field[name=N]/field`.
pub async fn put_changes(
    client: &XnatClient,
    snap: &Snapshot,
    id: &str,
    changes: &[Change],
) -> Result<()> {
    let o = snap
        .objects
        .iter()
        .find(|o| o.id == id)
        .ok_or_else(|| Error::not_found(snap.level.noun(), id))?;
    let owner = if o.owner.is_empty() {
        &snap.project
    } else {
        &o.owner
    };
    let (path, xsi) = match snap.level {
        Level::Subject => (
            format!("/data/projects/{}/subjects/{}", seg(owner)?, seg(&o.id)?),
            "xnat:subjectData".to_string(),
        ),
        Level::Session => {
            if o.subject_id.is_empty() || o.xsi_type.is_empty() {
                return Err(Error::Operation(format!(
                    "session {} lacks a subject or type in the listing; cannot write to it",
                    o.id
                )));
            }
            (
                format!(
                    "/data/projects/{}/subjects/{}/experiments/{}",
                    seg(owner)?,
                    seg(&o.subject_id)?,
                    seg(&o.id)?
                ),
                o.xsi_type.clone(),
            )
        }
    };
    let mut req = client.request(Method::PUT, &path);
    if snap.level == Level::Session {
        req = req.query("xsiType", xsi.clone());
    }
    for c in changes.iter().filter(|c| c.id == id) {
        let key = if c.standard {
            c.field.clone()
        } else {
            let name = c.field.strip_prefix(VAR_PREFIX).unwrap_or(&c.field);
            format!("{xsi}/fields/field[name={name}]/field")
        };
        req = req.query(key, c.new.clone());
    }
    req.send().await?;
    Ok(())
}

/// A value the server did not keep as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The object's accession ID.
    pub id: String,
    /// The field.
    pub field: String,
    /// What the server holds now.
    pub stored: String,
}

/// Re-read the listing (one request) and list the changes whose value is not what was sent.
pub async fn confirm(
    client: &XnatClient,
    snap: &Snapshot,
    written: &[&Change],
) -> Result<Vec<Dropped>> {
    let now = list_objects(client, &snap.project, snap.level).await?;
    let by_id: HashMap<&str, &Object> = now.iter().map(|o| (o.id.as_str(), o)).collect();
    let dates: Vec<&str> = snap
        .level
        .standard()
        .iter()
        .filter(|s| s.date)
        .map(|s| s.name)
        .collect();
    Ok(written
        .iter()
        .filter_map(|c| {
            let stored = by_id
                .get(c.id.as_str())
                .and_then(|o| o.values.get(&c.field))
                .cloned()
                .unwrap_or_default();
            let same = if dates.contains(&c.field.as_str()) {
                normalize_date(&stored) == normalize_date(&c.new)
            } else {
                stored == c.new
            };
            (!same).then(|| Dropped {
                id: c.id.clone(),
                field: c.field.clone(),
                stored,
            })
        })
        .collect())
}

/// What happened to one value (the batch kit's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Written and read back as sent.
    Success,
    /// The PUT failed, or the server kept another value.
    Failed,
    /// `--dry-run`: would be written.
    DryRun,
}

/// One row of `vars apply`: a value, what happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeRow {
    /// The object's label.
    pub object: String,
    /// Its accession ID.
    pub id: String,
    /// The field.
    pub field: String,
    /// The value before.
    pub old: String,
    /// The value written.
    pub new: String,
    /// What happened.
    pub status: Status,
    /// Why it failed (a refused PUT, or the value the server kept instead).
    pub error: Option<String>,
}

impl Row for ChangeRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("object", "Object"),
        ("field", "Field"),
        ("old", "Old"),
        ("new", "New"),
        ("status", "Status"),
        ("error", "Error"),
    ];
    const ID: &'static str = "id";
}

impl ChangeRow {
    /// The row of `change` with its outcome.
    pub fn of(change: &Change, status: Status, error: Option<String>) -> Self {
        ChangeRow {
            object: change.object.clone(),
            id: change.id.clone(),
            field: change.field.clone(),
            old: change.old.clone(),
            new: change.new.clone(),
            status,
            error,
        }
    }
}

/// After the plan's PUTs (`outcomes[i]` is the PUT of object `ids[i]`): re-read what the server
/// kept of the values it accepted (one request) and give every change its row.
pub async fn settle<T>(
    client: &XnatClient,
    snap: &Snapshot,
    plan: &Plan,
    ids: &[String],
    outcomes: &[Result<T>],
) -> Result<Vec<ChangeRow>> {
    let refused: HashMap<&str, String> = ids
        .iter()
        .zip(outcomes)
        .filter_map(|(id, o)| o.as_ref().err().map(|e| (id.as_str(), e.to_string())))
        .collect();
    let written: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| !refused.contains_key(c.id.as_str()))
        .collect();
    let dropped = confirm(client, snap, &written).await?;
    Ok(applied_rows(&plan.changes, &refused, &dropped))
}

/// The rows of an applied plan, in plan order: a change fails with the error of its object's
/// refused PUT (`refused`, by object id) or with the value the re-read found instead (`dropped`);
/// every other change succeeded.
pub fn applied_rows(
    changes: &[Change],
    refused: &HashMap<&str, String>,
    dropped: &[Dropped],
) -> Vec<ChangeRow> {
    changes
        .iter()
        .map(|c| {
            let error = match refused.get(c.id.as_str()) {
                Some(e) => Some(e.clone()),
                None => dropped
                    .iter()
                    .find(|d| d.id == c.id && d.field == c.field)
                    .map(|d| {
                        if c.new.is_empty() && d.stored == c.old {
                            format!(
                                "not kept: the server still has '{}' (XNAT does not clear a value over REST)",
                                d.stored
                            )
                        } else {
                            format!("not kept: the server has '{}'", d.stored)
                        }
                    }),
            };
            let status = if error.is_some() {
                Status::Failed
            } else {
                Status::Success
            };
            ChangeRow::of(c, status, error)
        })
        .collect()
}

#[cfg(test)]
mod tests;
