//! A tiny element tree over quick-xml, enough to read the documents clients PUT/POST
//! (`xnat:Project`, `xnat:Subject`, experiment documents, `xdat:bundle`, `xdat:stored_search`).
//! Namespace prefixes are dropped from element and attribute names.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct XmlNode {
    /// Local name (`Project` for `xnat:Project`).
    pub name: String,
    /// Prefixed name as written (`xnat:Project`).
    pub qname: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<XmlNode>,
}

impl XmlNode {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&XmlNode> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Trimmed text of the child at a `/`-separated local-name path.
    pub fn text_at(&self, path: &str) -> Option<String> {
        let mut node = self;
        for part in path.split('/') {
            node = node.child(part)?;
        }
        Some(node.text.trim().to_string())
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a XmlNode> {
        self.children
            .iter()
            .filter(move |c| c.name.eq_ignore_ascii_case(name))
    }
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    s.rsplit(':').next().unwrap_or(&s).to_string()
}

fn start_node(e: &BytesStart) -> XmlNode {
    let qname = String::from_utf8_lossy(e.name().as_ref()).to_string();
    let attrs = e
        .attributes()
        .flatten()
        .filter(|a| {
            let k = a.key.as_ref();
            k != b"xmlns" && !k.starts_with(b"xmlns:")
        })
        .map(|a| {
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).to_string());
            (local(a.key.as_ref()), value)
        })
        .collect();
    XmlNode {
        name: local(e.name().as_ref()),
        qname,
        attrs,
        ..Default::default()
    }
}

/// Parse a document and return its root element.
pub fn parse(doc: &str) -> Result<XmlNode, String> {
    let mut reader = Reader::from_str(doc);
    let mut stack: Vec<XmlNode> = Vec::new();
    let mut root: Option<XmlNode> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => stack.push(start_node(&e)),
            Ok(Event::Empty(e)) => {
                let node = start_node(&e);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = root.or(Some(node)),
                }
            }
            Ok(Event::Text(t)) => {
                if let Some(top) = stack.last_mut() {
                    // Entity references arrive as their own events (below).
                    let s = t
                        .decode()
                        .map(|c| c.to_string())
                        .unwrap_or_else(|_| String::from_utf8_lossy(&t).to_string());
                    top.text.push_str(&s);
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some(top) = stack.last_mut() {
                    // `&#233;`, the five predefined entities; anything else is kept as written
                    // (clients may send unescaped `&`).
                    let name = String::from_utf8_lossy(&r).to_string();
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => top.text.push(c),
                        _ => match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(v) => top.text.push_str(v),
                            None => top.text.push_str(&format!("&{name};")),
                        },
                    }
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Ok(Event::End(_)) => {
                let node = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = root.or(Some(node)),
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    root.ok_or_else(|| "no root element".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_project() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xnat:Project ID=\"P\" xmlns:xnat=\"http://nrg.wustl.edu/xnat\">\n<xnat:name>N &amp; M</xnat:name>\n<xnat:PI><xnat:lastname>L</xnat:lastname></xnat:PI>\n</xnat:Project>";
        let n = parse(doc).unwrap();
        assert_eq!(n.name, "Project");
        assert_eq!(n.attr("ID"), Some("P"));
        assert_eq!(n.text_at("name").as_deref(), Some("N & M"));
        assert_eq!(n.text_at("PI/lastname").as_deref(), Some("L"));
    }

    #[test]
    fn character_references_and_stray_ampersands() {
        let n = parse("<a t=\"x &lt; y\"><b>caf&#233; &#x41;&gt;&unknown;</b></a>").unwrap();
        assert_eq!(n.attr("t"), Some("x < y"));
        assert_eq!(n.text_at("b").as_deref(), Some("café A>&unknown;"));
    }
}
