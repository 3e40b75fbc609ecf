//! Reading and writing the YAML file: tolerant of what the reference tool wrote (unknown keys,
//! non-string keys, old versions), and never writing a secret the file did not already hold.

use std::path::{Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};

use super::{Config, Profile, CURRENT_VERSION, DEFAULT_TIMEOUT};
use crate::core::error::{Error, Result};

impl Config {
    /// Parse YAML text (as read from `path`) into a configuration.
    pub fn parse(text: &str, path: &Path) -> std::result::Result<Config, String> {
        let mut cfg = Config::new(path);
        let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        let top = match doc {
            Value::Null => return Ok(cfg),
            Value::Mapping(m) => m,
            other => {
                return Err(format!(
                    "the top level must be a mapping, not {}",
                    kind(&other)
                ))
            }
        };
        let mut unknown: Vec<String> = Vec::new();
        let mut unknown_top: Vec<String> = Vec::new();
        for (k, v) in &top {
            let key = key_string(k);
            match key.as_str() {
                "version" => cfg.version = parse_version(v, &mut cfg.warnings),
                "default_profile" => {
                    if let Some(s) = opt_string(v, "default_profile")? {
                        cfg.default_profile = s;
                    }
                }
                "output_format" => {
                    if let Some(s) = opt_string(v, "output_format")? {
                        cfg.output_format = s;
                    }
                }
                "log_file" => cfg.log_file = opt_string(v, "log_file")?.map(PathBuf::from),
                "update_check" => {
                    cfg.update_check = opt_bool(v, "update_check")?.unwrap_or(true);
                }
                "profiles" => {}
                _ => unknown_top.push(key),
            }
        }
        if !unknown_top.is_empty() {
            unknown.push(format!("top-level: {}", unknown_top.join(", ")));
        }
        if let Some(profiles) = top.iter().find(|(k, _)| key_string(k) == "profiles") {
            match profiles.1 {
                Value::Null => {}
                Value::Mapping(m) => {
                    for (k, v) in m {
                        let name = key_string(k);
                        let (profile, extra, inline) = parse_profile(&name, v)?;
                        if !extra.is_empty() {
                            unknown.push(format!("profile '{name}': {}", extra.join(", ")));
                        }
                        if inline {
                            cfg.inline_passwords.insert(name.clone());
                        }
                        cfg.profiles.insert(name, profile);
                    }
                }
                other => return Err(format!("'profiles' must be a mapping, not {}", kind(other))),
            }
        }
        if !unknown.is_empty() {
            cfg.warnings.push(format!(
                "{} has unrecognized config keys, ignoring: {}",
                path.display(),
                unknown.join("; ")
            ));
        }
        Ok(cfg)
    }

    /// The YAML text [`Config::save`] writes.
    pub fn to_yaml(&self) -> Result<String> {
        let mut top = Mapping::new();
        top.insert("version".into(), Value::from(CURRENT_VERSION));
        top.insert(
            "default_profile".into(),
            Value::from(self.default_profile.as_str()),
        );
        top.insert(
            "output_format".into(),
            Value::from(self.output_format.as_str()),
        );
        if let Some(l) = &self.log_file {
            top.insert("log_file".into(), Value::from(l.to_string_lossy().as_ref()));
        }
        if !self.update_check {
            top.insert("update_check".into(), Value::Bool(false));
        }
        let mut profiles = Mapping::new();
        for (name, p) in self.profiles.iter() {
            let mut m = Mapping::new();
            m.insert("url".into(), Value::from(p.url.as_str()));
            m.insert("verify_ssl".into(), Value::Bool(p.verify_ssl));
            m.insert("timeout".into(), Value::from(p.timeout));
            m.insert("default_project".into(), opt_value(&p.default_project));
            put_opt(&mut m, "ca_bundle", &p.ca_bundle);
            put_opt(&mut m, "username", &p.username);
            // Never add a secret: only a password that was already inline in the file survives.
            if p.password_source.is_none() && self.inline_passwords.contains(name) {
                put_opt(&mut m, "password", &p.password);
            }
            put_opt(&mut m, "password_source", &p.password_source);
            if let Some(w) = p.workers {
                m.insert("workers".into(), Value::from(w as u64));
            }
            put_opt(&mut m, "overwrite", &p.overwrite);
            if let Some(b) = p.direct_archive {
                m.insert("direct_archive".into(), Value::Bool(b));
            }
            put_opt(&mut m, "archive_mode", &p.archive_mode);
            if let Some(b) = p.extract {
                m.insert("extract".into(), Value::Bool(b));
            }
            profiles.insert(Value::from(name.as_str()), Value::Mapping(m));
        }
        top.insert("profiles".into(), Value::Mapping(profiles));
        serde_yaml_ng::to_string(&Value::Mapping(top))
            .map_err(|e| Error::Config(format!("cannot serialise the config: {e}")))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// YAML allows non-string keys (`123:`, `true:`); they are used as their text.
fn key_string(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => "null".into(),
        other => serde_yaml_ng::to_string(other)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

fn parse_version(v: &Value, warnings: &mut Vec<String>) -> i64 {
    let n = match v {
        Value::Null => return CURRENT_VERSION,
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n >= 1 => {
            if n > CURRENT_VERSION {
                warnings.push(format!(
                    "config version {n} is newer than this xnatctl supports ({CURRENT_VERSION}); loading what it can, and saving is refused"
                ));
            }
            n
        }
        _ => {
            warnings.push(format!(
                "config 'version' is not a valid version number ({}); treating it as {CURRENT_VERSION}",
                key_string(v)
            ));
            CURRENT_VERSION
        }
    }
}

fn opt_string(v: &Value, field: &str) -> std::result::Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(format!("{field}: expected a string, not {}", kind(other))),
    }
}

fn opt_bool(v: &Value, field: &str) -> std::result::Result<Option<bool>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::Number(n) if n.as_i64() == Some(0) => Ok(Some(false)),
        Value::Number(n) if n.as_i64() == Some(1) => Ok(Some(true)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(Some(true)),
            "false" | "no" | "off" | "0" => Ok(Some(false)),
            _ => Err(format!("{field}: expected true or false, not '{s}'")),
        },
        other => Err(format!(
            "{field}: expected true or false, not {}",
            kind(other)
        )),
    }
}

fn opt_uint(v: &Value, field: &str) -> std::result::Result<Option<u64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or_else(|| format!("{field}: expected a whole number, not {n}")),
        Value::String(s) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("{field}: expected a whole number, not '{s}'")),
        other => Err(format!(
            "{field}: expected a whole number, not {}",
            kind(other)
        )),
    }
}

fn parse_profile(
    name: &str,
    v: &Value,
) -> std::result::Result<(Profile, Vec<String>, bool), String> {
    let mut p = Profile::default();
    let mut extra = Vec::new();
    let map = match v {
        Value::Null => return Ok((p, extra, false)),
        Value::Mapping(m) => m,
        other => {
            return Err(format!(
                "profile '{name}' must be a mapping, not {}",
                kind(other)
            ))
        }
    };
    for (k, val) in map {
        let key = key_string(k);
        let field = format!("profiles.{name}.{key}");
        match key.as_str() {
            "url" => p.url = opt_string(val, &field)?.unwrap_or_default(),
            "verify_ssl" => p.verify_ssl = opt_bool(val, &field)?.unwrap_or(true),
            "ca_bundle" => p.ca_bundle = opt_string(val, &field)?,
            "timeout" => {
                p.timeout = match opt_uint(val, &field)? {
                    Some(0) => return Err(format!("{field}: must be at least 1 second")),
                    Some(n) => n,
                    None => DEFAULT_TIMEOUT,
                }
            }
            "default_project" => p.default_project = opt_string(val, &field)?,
            "username" => p.username = opt_string(val, &field)?,
            "password" => p.password = opt_string(val, &field)?,
            "password_source" => p.password_source = opt_string(val, &field)?,
            "workers" => p.workers = opt_uint(val, &field)?.map(|n| n as usize),
            "overwrite" => p.overwrite = opt_string(val, &field)?,
            "direct_archive" => p.direct_archive = opt_bool(val, &field)?,
            "archive_mode" => p.archive_mode = opt_string(val, &field)?,
            "extract" => p.extract = opt_bool(val, &field)?,
            _ => extra.push(key),
        }
    }
    let inline = p.password.is_some();
    Ok((p, extra, inline))
}

fn opt_value(v: &Option<String>) -> Value {
    v.as_deref().map_or(Value::Null, Value::from)
}

fn put_opt(m: &mut Mapping, key: &str, v: &Option<String>) {
    if let Some(s) = v {
        m.insert(key.into(), Value::from(s.as_str()));
    }
}
