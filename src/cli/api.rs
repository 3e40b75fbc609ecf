//! `xnatctl api get|post|put|delete PATH`: the escape hatch for any REST call the other
//! commands do not cover, with the same authentication, retries and error mapping.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::Value;

use super::Context;
use crate::cli::shared::{mutate, ConfirmArgs};
use crate::core::audit::AuditRecord;
use crate::core::output::ListControls;
use crate::core::{Error, Result};

/// The `api` subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// GET a path and print the response
    Get(GetArgs),
    /// POST to a path
    Post(WriteArgs),
    /// PUT to a path
    Put(WriteArgs),
    /// DELETE a path (asks first)
    Delete(DeleteArgs),
}

/// Arguments of `api get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Path relative to the server URL, e.g. /data/projects
    pub path: String,
    /// Query parameter KEY=VALUE (repeatable; values are encoded)
    #[arg(long = "params", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

/// Arguments of `api post` and `api put`.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Path relative to the server URL
    pub path: String,
    /// Query parameter KEY=VALUE (repeatable; values are encoded)
    #[arg(long = "params", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Request body; JSON is sent as application/json; `$VAR` is expanded
    #[arg(short = 'd', long, value_name = "DATA", conflicts_with = "file")]
    pub data: Option<String>,
    /// Send this file as the body (`-` for stdin)
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Content-Type of the body (overrides the guess)
    #[arg(short = 't', long, value_name = "TYPE")]
    pub content_type: Option<String>,
}

/// Arguments of `api delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Path relative to the server URL
    pub path: String,
    /// Query parameter KEY=VALUE (repeatable; values are encoded)
    #[arg(long = "params", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// Run an `api` subcommand.
pub async fn run(cmd: ApiCommand, ctx: &Context) -> Result<()> {
    match cmd {
        ApiCommand::Get(a) => get(a, ctx).await,
        ApiCommand::Post(a) => write(Method::POST, a, ctx).await,
        ApiCommand::Put(a) => write(Method::PUT, a, ctx).await,
        ApiCommand::Delete(a) => delete(a, ctx).await,
    }
}

/// Split `KEY=VALUE` at the first `=` outside `[...]` (xpath keys contain `[name=x]`).
pub fn parse_param(raw: &str) -> Result<(String, String)> {
    let mut depth = 0i32;
    for (i, c) in raw.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '=' if depth <= 0 => {
                let key = &raw[..i];
                if key.is_empty() {
                    break;
                }
                return Ok((key.to_string(), raw[i + 1..].to_string()));
            }
            _ => {}
        }
    }
    Err(Error::usage(format!(
        "--params expects KEY=VALUE, got '{raw}'"
    )))
}

/// Split a path that may carry its own query string, and add the `--params`.
fn target(path: &str, params: &[String]) -> Result<(String, Vec<(String, String)>)> {
    if !path.starts_with('/') {
        return Err(Error::usage(format!(
            "PATH must start with '/', e.g. /data/projects (got '{path}')"
        )));
    }
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for raw in params {
        pairs.push(parse_param(raw)?);
    }
    Ok((p.to_string(), pairs))
}

async fn get(a: GetArgs, ctx: &Context) -> Result<()> {
    let (path, pairs) = target(&a.path, &a.params)?;
    let client = ctx.client().await?;
    let resp = client
        .request(Method::GET, &path)
        .query_pairs(pairs)
        .send()
        .await?;
    let bytes = resp.bytes().await.map_err(|source| Error::Body {
        context: "reading the response".into(),
        source,
    })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(value) => ctx.out().document(&value, &ListControls::default()),
        Err(_) => {
            if ctx.is_json() {
                ctx.messages().warn(&format!(
                    "response from {path} is not JSON; printing the raw body"
                ));
            }
            ctx.out().bytes(&bytes)
        }
    }
}

/// Expand `$VAR` and `${VAR}` from the environment; unset names stay literal and are reported.
fn expand_env(text: &str) -> (String, Vec<String>) {
    let re = regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
        .expect("static regex");
    let mut missing = Vec::new();
    let out = re.replace_all(text, |caps: &regex::Captures| {
        let name = caps
            .get(1)
            .or_else(|| caps.get(2))
            .map(|m| m.as_str())
            .unwrap_or("");
        match std::env::var(name) {
            Ok(v) => v,
            Err(_) => {
                if !missing.contains(&name.to_string()) {
                    missing.push(name.to_string());
                }
                caps[0].to_string()
            }
        }
    });
    (out.into_owned(), missing)
}

fn content_type_for(path: &std::path::Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => "application/json",
        Some("txt") => "text/plain",
        Some("xml") => "application/xml",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

async fn write(method: Method, a: WriteArgs, ctx: &Context) -> Result<()> {
    let (path, mut pairs) = target(&a.path, &a.params)?;
    if a.data.as_deref() == Some("-") && a.file.as_deref() == Some(std::path::Path::new("-")) {
        return Err(Error::usage("-d - and --file - cannot both read stdin"));
    }
    let body: Option<(Vec<u8>, Option<String>)> = if let Some(data) = &a.data {
        let raw = if data == "-" {
            read_stdin()?
        } else {
            let (expanded, missing) = expand_env(data);
            if !missing.is_empty() {
                ctx.messages().warn(&format!(
                    "environment variable(s) not set: {}",
                    missing.join(", ")
                ));
            }
            expanded.into_bytes()
        };
        let ct = match &a.content_type {
            Some(ct) => Some(ct.clone()),
            None if serde_json::from_slice::<Value>(&raw).is_ok() => {
                Some("application/json".to_string())
            }
            None => None,
        };
        Some((raw, ct))
    } else if let Some(file) = &a.file {
        let raw = if file.as_os_str() == "-" {
            read_stdin()?
        } else {
            std::fs::read(file).map_err(|e| Error::io(format!("reading {}", file.display()), e))?
        };
        let ct = a
            .content_type
            .clone()
            .unwrap_or_else(|| content_type_for(file).to_string());
        Some((raw, Some(ct)))
    } else {
        None
    };

    let writes_file = regex::Regex::new(r"/resources/[^/?]+/files/[^/?]+")
        .expect("static regex")
        .is_match(&path);
    let has_inbody = pairs.iter().any(|(k, _)| k == "inbody");
    if method == Method::PUT && writes_file && body.is_some() && !has_inbody {
        pairs.push(("inbody".into(), "true".into()));
        ctx.messages()
            .info("added inbody=true for a resource file write");
    }
    if pairs.iter().any(|(k, v)| k == "inbody" && v == "true") && body.is_none() {
        return Err(Error::usage("inbody=true needs a body (-d or --file)"));
    }

    let client = ctx.client().await?;
    let mut req = client.request(method.clone(), &path).query_pairs(pairs);
    if let Some((bytes, ct)) = body {
        // Without a guessable type the body goes out as-is, like curl's --data-binary.
        req = req.bytes(
            bytes,
            ct.unwrap_or_else(|| "application/octet-stream".into()),
        );
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    ctx.messages().info(&format!("[{status}] {method} {path}"));
    let bytes = resp.bytes().await.map_err(|source| Error::Body {
        context: "reading the response".into(),
        source,
    })?;
    if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
        ctx.out().json(&value)
    } else if !bytes.is_empty() {
        ctx.out().bytes(&bytes)
    } else {
        Ok(())
    }
}

fn read_stdin() -> Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::io::stdin()
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("reading stdin", e))?;
    Ok(buf)
}

async fn delete(a: DeleteArgs, ctx: &Context) -> Result<()> {
    let (path, pairs) = target(&a.path, &a.params)?;
    let mut rec = AuditRecord::new("api delete");
    rec.detail("path", Value::String(path.clone()));
    let question = format!("Delete {path}?");
    let path = path.as_str();
    let resp = mutate(ctx, &question, &a.confirm, rec, |mode, _| async move {
        if !mode.apply() {
            ctx.messages().dry_run(&format!("would DELETE {path}"));
            return Ok(None);
        }
        let client = ctx.client().await?;
        let resp = client
            .request(Method::DELETE, path)
            .query_pairs(pairs)
            .send()
            .await?;
        Ok(Some(resp))
    })
    .await?;
    let Some(resp) = resp else {
        return Ok(());
    };
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap_or_default();
    if status == 200 || status == 204 || bytes.is_empty() {
        ctx.messages().success(&format!("deleted {path}"));
        Ok(())
    } else {
        ctx.out().bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_split_outside_brackets() {
        assert_eq!(
            parse_param("xnat:mrSessionData/fields/field[name=x]/field=a b").unwrap(),
            (
                "xnat:mrSessionData/fields/field[name=x]/field".to_string(),
                "a b".to_string()
            )
        );
        assert_eq!(
            parse_param("q=a=b&c").unwrap(),
            ("q".to_string(), "a=b&c".to_string())
        );
        assert_eq!(parse_param("novalue").unwrap_err().exit_code(), 2);
        assert_eq!(parse_param("=x").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn path_query_is_kept() {
        let (p, q) = target("/data/projects?format=json", &["columns=ID".into()]).unwrap();
        assert_eq!(p, "/data/projects");
        assert_eq!(
            q,
            vec![
                ("format".to_string(), "json".to_string()),
                ("columns".to_string(), "ID".to_string())
            ]
        );
        assert_eq!(target("data", &[]).unwrap_err().exit_code(), 2);
    }
}
