//! Custom variables (XNAT's `fields/field`) of subjects and sessions: the row they print as, and
//! the one `KEY=VALUE` parser both `vars set` commands use.

use serde::Serialize;

use crate::core::output::Row;
use crate::core::validation::validate_custom_field_name;
use crate::core::{Error, Result};

/// One custom variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Var {
    /// Field name.
    pub name: String,
    /// Its value.
    pub value: String,
}

impl Row for Var {
    const COLUMNS: &'static [(&'static str, &'static str)] =
        &[("name", "Name"), ("value", "Value")];
    const ID: &'static str = "name";
}

/// Parse `KEY=VALUE` pairs (split at the first `=`); empty or duplicate keys are usage errors.
pub fn parse_assignments(raw: &[String]) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for p in raw {
        let Some((k, v)) = p.split_once('=') else {
            return Err(Error::usage(format!("expected KEY=VALUE, got '{p}'")));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err(Error::usage(format!("empty variable name in '{p}'")));
        }
        validate_custom_field_name(k)?;
        if out.iter().any(|(x, _)| x == k) {
            return Err(Error::usage(format!("variable '{k}' given twice")));
        }
        out.push((k.to_string(), v.to_string()));
    }
    if out.is_empty() {
        return Err(Error::usage("no KEY=VALUE pairs given"));
    }
    Ok(out)
}
