//! Documents shown as a record followed by titled tables (`session show`): the JSON form is the
//! whole serde document, the table form the record then each section under its title (the title
//! alone when the section is empty), TSV the record and the sections untitled, and `-q` the
//! record's id.

use serde::Serialize;

use super::*;
use crate::core::error::Result;

/// A document with a head record and titled sections.
pub trait Sectioned: Serialize {
    /// The record printed first.
    type Head: Item;
    /// The head record.
    fn head(&self) -> &Self::Head;
    /// The sections, in order, each titled.
    fn sections(&self) -> Result<Vec<Listing>>;
}

impl Printer {
    /// Print a sectioned document.
    pub fn sectioned<T: Sectioned>(&mut self, doc: &T) -> Result<()> {
        let o = self.options().clone();
        if o.quiet {
            return self.item(doc.head());
        }
        if o.format == OutputFormat::Json {
            return self.value(doc);
        }
        self.item(doc.head())?;
        for mut section in doc.sections()? {
            self.line("")?;
            match o.format {
                OutputFormat::Table if section.rows.is_empty() => {
                    self.line(section.title.as_deref().unwrap_or_default())?
                }
                OutputFormat::Tsv => {
                    section.title = None;
                    self.list(&section)?
                }
                _ => self.list(&section)?,
            }
        }
        Ok(())
    }
}
