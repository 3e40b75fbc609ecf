//! XNAT's response shapes: the ResultSet table envelope, the items detail document, the Restlet
//! HTML status page, and small response helpers shared by every router.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// One table row: column → string cell. Insertion order is kept (clients must not rely on it).
pub type Row = Map<String, Value>;

/// Build a row from `(key, value)` pairs; every value becomes a JSON string.
pub fn row<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Row {
    pairs
        .into_iter()
        .map(|(k, v)| (k.into(), Value::String(v.into())))
        .collect()
}

/// A ResultSet table: rows, optional `Columns`, and hand-written meta pairs after `Result`.
#[derive(Debug, Default, Clone)]
pub struct ResultSet {
    pub columns: Option<Value>,
    pub rows: Vec<Row>,
    /// Rows in flat form (from `table::build`), written after `rows`. Large listings live here so
    /// that serving 10 000 rows costs a few allocations instead of several per cell.
    pub table: Option<Table>,
    /// Written after `Result` as `, "k": "v","k2": "v2"` (the exact bytes a real server sends).
    pub meta: Vec<(String, String)>,
}

/// Rows that share one key list, their cells packed into one string.
#[derive(Debug, Default, Clone)]
pub struct Table {
    /// Column keys, in output order.
    pub keys: Vec<String>,
    /// Every cell's text, back to back.
    pub text: String,
    /// `keys.len()` byte ranges into `text` per stored row.
    pub spans: Vec<(u32, u32)>,
    /// Stored rows to emit, in order (a sort or a page picks and orders them).
    pub order: Vec<u32>,
}

impl Table {
    /// The cells of stored row `row`, in key order.
    pub fn cells(&self, row: u32) -> impl Iterator<Item = &str> + '_ {
        let n = self.keys.len();
        let start = row as usize * n;
        self.spans[start..start + n]
            .iter()
            .map(|&(a, b)| &self.text[a as usize..b as usize])
    }

    /// The emitted rows as maps (csv/xml and other slow paths).
    fn to_rows(&self) -> Vec<Row> {
        self.order
            .iter()
            .map(|&r| {
                self.keys
                    .iter()
                    .zip(self.cells(r))
                    .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
                    .collect()
            })
            .collect()
    }
}

/// Append `s` as a JSON string literal, byte for byte what `serde_json` writes.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

impl ResultSet {
    pub fn new(rows: Vec<Row>) -> Self {
        ResultSet {
            rows,
            ..Default::default()
        }
    }

    pub fn meta(mut self, key: &str, value: impl Into<String>) -> Self {
        self.meta.push((key.to_string(), value.into()));
        self
    }

    /// Add `totalRecords` = the current row count.
    pub fn with_total(self) -> Self {
        let n = self.len().to_string();
        self.meta("totalRecords", n)
    }

    pub fn columns(mut self, columns: Value) -> Self {
        self.columns = Some(columns);
        self
    }

    /// Number of rows sent.
    pub fn len(&self) -> usize {
        self.rows.len() + self.table.as_ref().map_or(0, |t| t.order.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every row as a map (the flat table after `rows`).
    fn all_rows(&self) -> std::borrow::Cow<'_, [Row]> {
        match &self.table {
            None => std::borrow::Cow::Borrowed(&self.rows),
            Some(t) => {
                let mut rows = self.rows.clone();
                rows.extend(t.to_rows());
                std::borrow::Cow::Owned(rows)
            }
        }
    }

    /// The JSON envelope, written into one pre-sized buffer straight from the rows.
    pub fn to_json_string(&self) -> String {
        let mut cap = 64 + self.rows.len() * 64;
        let table_keys: Vec<String> = match &self.table {
            Some(t) => {
                let keys: Vec<String> = t
                    .keys
                    .iter()
                    .map(|k| {
                        let mut s = String::with_capacity(k.len() + 3);
                        push_json_str(&mut s, k);
                        s.push(':');
                        s
                    })
                    .collect();
                let per_row = 2 + keys.iter().map(|k| k.len() + 3).sum::<usize>();
                cap += t.text.len() + t.order.len() * per_row;
                keys
            }
            None => Vec::new(),
        };
        let mut out = String::with_capacity(cap);
        out.push_str("{\"ResultSet\":{");
        if let Some(cols) = &self.columns {
            out.push_str("\"Columns\":");
            out.push_str(&cols.to_string());
            out.push(',');
        }
        out.push_str("\"Result\":[");
        let mut first = true;
        for r in &self.rows {
            if !first {
                out.push(',');
            }
            first = false;
            out.push('{');
            for (i, (k, v)) in r.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_str(&mut out, k);
                out.push(':');
                match v {
                    Value::String(s) => push_json_str(&mut out, s),
                    other => out.push_str(&other.to_string()),
                }
            }
            out.push('}');
        }
        if let Some(t) = &self.table {
            for &r in &t.order {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push('{');
                for (i, (k, v)) in table_keys.iter().zip(t.cells(r)).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(k);
                    push_json_str(&mut out, v);
                }
                out.push('}');
            }
        }
        out.push(']');
        if !self.meta.is_empty() {
            out.push_str(", ");
            for (i, (k, v)) in self.meta.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_str(&mut out, k);
                out.push_str(": ");
                push_json_str(&mut out, v);
            }
        }
        out.push_str("}}");
        out
    }

    /// `format=csv`: header line then rows, every cell quoted.
    pub fn to_csv(&self) -> String {
        let rows = self.all_rows();
        let mut keys: Vec<String> = Vec::new();
        for r in rows.iter() {
            for k in r.keys() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut out = keys.iter().map(|k| quote(k)).collect::<Vec<_>>().join(",");
        out.push('\n');
        for r in rows.iter() {
            let cells: Vec<String> = keys
                .iter()
                .map(|k| quote(r.get(k).and_then(Value::as_str).unwrap_or("")))
                .collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// `format=xml`: the XFTTable XML list flavour.
    pub fn to_xml(&self) -> String {
        let rows = self.all_rows();
        let mut keys: Vec<String> = Vec::new();
        for r in rows.iter() {
            for k in r.keys() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
        let total = self
            .meta
            .iter()
            .find(|(k, _)| k == "totalRecords")
            .map(|(_, v)| format!(" totalRecords=\"{v}\""))
            .unwrap_or_default();
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ResultSet xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"{total}><results><columns>"
        );
        for k in &keys {
            out.push_str(&format!("<column>{}</column>", xml_escape(k)));
        }
        out.push_str("</columns><rows>");
        for r in rows.iter() {
            out.push_str("<row>");
            for k in &keys {
                let v = r.get(k).and_then(Value::as_str).unwrap_or("");
                out.push_str(&format!("<cell>{}</cell>", xml_escape(v)));
            }
            out.push_str("</row>");
        }
        out.push_str("</rows></results></ResultSet>\n");
        out
    }

    /// Render in the requested `format` (json default; csv, xml, html fall back sensibly).
    pub fn respond(&self, format: Option<&str>) -> Response {
        match format.map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => with_type(StatusCode::OK, "text/csv", self.to_csv()),
            Some("xml") => with_type(StatusCode::OK, "text/xml", self.to_xml()),
            _ => with_type(StatusCode::OK, "application/json", self.to_json_string()),
        }
    }
}

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One node of an items document: `{"children":[...],"meta":{...},"data_fields":{...}}`.
#[derive(Debug, Clone, Default)]
pub struct ItemNode {
    pub xsi_type: String,
    pub data_fields: Map<String, Value>,
    pub children: Vec<(String, Vec<ItemNode>)>,
    pub create_event_id: Option<u64>,
    pub start_date: Option<String>,
}

impl ItemNode {
    pub fn new(xsi_type: &str) -> Self {
        ItemNode {
            xsi_type: xsi_type.to_string(),
            ..Default::default()
        }
    }

    pub fn field(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data_fields.insert(key.to_string(), value.into());
        self
    }

    /// Insert a string field only when non-empty (XNAT omits null fields).
    pub fn opt(mut self, key: &str, value: Option<&str>) -> Self {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.data_fields.insert(key.to_string(), Value::from(v));
        }
        self
    }

    pub fn child(mut self, field: &str, items: Vec<ItemNode>) -> Self {
        if !items.is_empty() {
            self.children.push((field.to_string(), items));
        }
        self
    }

    pub fn to_value(&self) -> Value {
        let mut meta = Map::new();
        meta.insert("isHistory".into(), Value::Bool(false));
        if let Some(id) = self.create_event_id {
            meta.insert("create_event_id".into(), Value::from(id));
        }
        meta.insert("xsi:type".into(), Value::from(self.xsi_type.as_str()));
        if let Some(d) = &self.start_date {
            meta.insert("start_date".into(), Value::from(d.as_str()));
        }
        let children: Vec<Value> = self
            .children
            .iter()
            .map(|(field, items)| {
                serde_json::json!({
                    "field": field,
                    "items": items.iter().map(ItemNode::to_value).collect::<Vec<_>>(),
                })
            })
            .collect();
        let mut node = Map::new();
        node.insert("children".into(), Value::Array(children));
        node.insert("meta".into(), Value::Object(meta));
        node.insert(
            "data_fields".into(),
            Value::Object(self.data_fields.clone()),
        );
        Value::Object(node)
    }
}

/// `{"items":[node]}` as a JSON response.
pub fn items_response(node: &ItemNode) -> Response {
    let doc = serde_json::json!({ "items": [node.to_value()] });
    with_type(StatusCode::OK, "application/json", doc.to_string())
}

/// Custom fields as `fields/field` children items.
pub fn field_children<'a>(
    parent_type: &str,
    fields: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Vec<ItemNode> {
    let _ = parent_type;
    fields
        .into_iter()
        .map(|(name, value)| {
            ItemNode::new("xnat:addField")
                .field("name", name.as_str())
                .field("field", value.as_str())
        })
        .collect()
}

/// Reason phrase used as the `<h3>` message when a handler gives none.
fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad Request",
        401 => "The request requires user authentication",
        403 => "The server understood the request, but is refusing to fulfill it",
        404 => "The server has not found anything matching the request URI",
        405 => "The method specified in the request is not allowed for the resource identified by the request URI",
        409 => "The request could not be completed due to a conflict with the current state of the resource",
        417 => "The expectation given in an Expect request-header field could not be met by this server",
        422 => "The server understands the content type of the request entity and the syntax of the request entity is correct but was unable to process the contained instructions",
        _ => "Internal Server Error",
    }
}

fn rfc_anchor(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "sec10.4.1",
        401 => "sec10.4.2",
        403 => "sec10.4.4",
        404 => "sec10.4.5",
        405 => "sec10.4.6",
        409 => "sec10.4.10",
        417 => "sec10.4.18",
        _ => "sec10.5.1",
    }
}

/// Restlet "Status page" body for `/data` errors. `message` empty → standard reason text.
pub fn restlet_page(status: StatusCode, message: &str) -> String {
    let msg = if message.is_empty() {
        default_message(status)
    } else {
        message
    };
    format!(
        "<html>\n<head>\n   <title>Status page</title>\n</head>\n<body>\n<h3>{}</h3><p>You can get technical details <a href=\"http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#{}\">here</a>.<br>\nPlease continue your visit at our <a href=\"/\">home page</a>.\n</p>\n</body>\n</html>\n",
        xml_escape(msg),
        rfc_anchor(status)
    )
}

/// A `/data` error response (Restlet status page).
pub fn restlet_error(status: StatusCode, message: &str) -> Response {
    with_type(
        status,
        "text/html;charset=UTF-8",
        restlet_page(status, message),
    )
}

/// An XAPI error: plain text message, or empty body.
pub fn xapi_error(status: StatusCode, message: &str) -> Response {
    with_type(status, "text/plain", message.to_string())
}

/// Tomcat-style error report (Spring Security 401s).
pub fn tomcat_error(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><title>HTTP Status {code} – {reason}</title></head><body><h1>HTTP Status {code} – {reason}</h1><hr class=\"line\" /><p><b>Type</b> Status Report</p><p><b>Message</b> {msg}</p><hr class=\"line\" /><h3>Apache Tomcat</h3></body></html>",
        code = status.as_u16(),
        reason = status.canonical_reason().unwrap_or(""),
        msg = xml_escape(message)
    );
    with_type(status, "text/html;charset=utf-8", body)
}

pub fn with_type(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    let mut resp = (status, body.into()).into_response();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

/// `text/plain` response.
pub fn text(status: StatusCode, body: impl Into<String>) -> Response {
    with_type(status, "text/plain;charset=UTF-8", body.into())
}

/// Empty 200 (`/data` PUT/DELETE success).
pub fn ok_empty() -> Response {
    text(StatusCode::OK, "")
}

pub fn json(status: StatusCode, value: &Value) -> Response {
    with_type(status, "application/json", value.to_string())
}

#[cfg(test)]
mod tests;
