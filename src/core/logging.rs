//! Diagnostics: quiet human-readable log lines on stderr (WARN by default) and, with
//! `--log-file`, a JSON-lines file holding every debug record of xnatctl, so that a failed run
//! can be investigated afterwards. Every string is redacted before it is written.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::core::audit::{open_private_append, rotate_if_needed};
use crate::core::env;
use crate::core::error::{Error, Result};
use crate::core::fsutil;
use crate::core::redact::redact;

/// The tracing target prefix of this crate's records.
const OWN_TARGET: &str = "xnatctl";

/// What the CLI decided about logging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// -1 quiet (errors only), 0 default (warnings), 1 info, 2 or more debug.
    pub verbosity: i8,
    /// JSON-lines diagnostics file.
    pub log_file: Option<PathBuf>,
}

/// Keeps the log file flushed; hold it until the process exits.
#[derive(Debug)]
pub struct LogGuard {
    corr: String,
    file: Option<Arc<Mutex<RotatingFile>>>,
}

impl LogGuard {
    /// The correlation id (12 hex characters) written on every line of this invocation.
    pub fn corr(&self) -> &str {
        &self.corr
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if let Some(f) = &self.file {
            if let Ok(mut f) = f.lock() {
                let _ = f.file.flush();
            }
        }
    }
}

/// True when `XNATCTL_DEBUG` asks for debug logging (any value but `""/0/false/no/off`).
pub fn debug_env() -> bool {
    std::env::var(env::XNATCTL_DEBUG)
        .map(|v| {
            !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "false" | "no" | "off"
            )
        })
        .unwrap_or(false)
}

/// Install the global logger for this process.
pub fn init(opts: LogOptions) -> Result<LogGuard> {
    let (subscriber, guard) = build(&opts, debug_env(), Box::new(std::io::stderr()))?;
    // A second initialisation (tests, embedding) keeps the first logger; that is harmless.
    let _ = subscriber.try_init();
    Ok(guard)
}

/// Build the subscriber without installing it; `stderr` receives the console lines.
pub fn build(
    opts: &LogOptions,
    debug: bool,
    stderr: Box<dyn Write + Send>,
) -> Result<(impl Subscriber + Send + Sync, LogGuard)> {
    let corr = hex::encode(rand::random::<[u8; 6]>());
    let file = match &opts.log_file {
        Some(path) => Some(Arc::new(Mutex::new(RotatingFile::open(path)?))),
        None => None,
    };
    let console = ConsoleLayer {
        out: Mutex::new(stderr),
    }
    .with_filter(console_filter(opts.verbosity, debug));
    let file_layer = file.clone().map(|f| {
        JsonFileLayer {
            file: f,
            corr: corr.clone(),
        }
        .with_filter(file_filter(debug))
    });
    let subscriber = Registry::default().with(console).with(file_layer);
    Ok((subscriber, LogGuard { corr, file }))
}

fn console_filter(verbosity: i8, debug: bool) -> Targets {
    if debug {
        return Targets::new().with_default(LevelFilter::DEBUG);
    }
    let own = match verbosity {
        i8::MIN..=-1 => LevelFilter::ERROR,
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        _ => LevelFilter::DEBUG,
    };
    let others = if verbosity < 0 {
        LevelFilter::ERROR
    } else {
        LevelFilter::WARN
    };
    // dicom-rs warns about every quirk it reads past (a missing meta element, an odd length);
    // the per-file reports already say what matters, so those warnings need -v.
    let dicom = if verbosity >= 1 {
        LevelFilter::WARN
    } else {
        LevelFilter::ERROR
    };
    let mut targets = Targets::new()
        .with_default(others)
        .with_target(OWN_TARGET, own);
    for t in DICOM_TARGETS {
        targets = targets.with_target(t, dicom);
    }
    targets
}

/// The dicom-rs crates whose console warnings are held back without -v.
const DICOM_TARGETS: [&str; 5] = [
    "dicom_object",
    "dicom_parser",
    "dicom_encoding",
    "dicom_core",
    "dicom_ul",
];

fn file_filter(debug: bool) -> Targets {
    let others = if debug {
        LevelFilter::DEBUG
    } else {
        LevelFilter::OFF
    };
    Targets::new()
        .with_default(others)
        .with_target(OWN_TARGET, LevelFilter::DEBUG)
}

#[derive(Default)]
struct Fields {
    message: String,
    extra: Map<String, Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = redact(&format!("{value:?}"));
        if field.name() == "message" {
            self.message = text;
        } else {
            self.extra.insert(field.name().into(), Value::String(text));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let text = redact(value);
        if field.name() == "message" {
            self.message = text;
        } else {
            self.extra.insert(field.name().into(), Value::String(text));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.extra.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.extra.insert(field.name().into(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.extra.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.extra.insert(field.name().into(), Value::from(value));
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

struct ConsoleLayer {
    out: Mutex<Box<dyn Write + Send>>,
}

impl<S: Subscriber> Layer<S> for ConsoleLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let mut line = format!(
            "{} {} {}: {}",
            chrono::Local::now().format("%Y-%m-%d %H:%M:%S"),
            level_name(meta.level()),
            meta.target(),
            fields.message
        );
        for (k, v) in &fields.extra {
            match v {
                Value::String(s) => line.push_str(&format!(" {k}={s}")),
                other => line.push_str(&format!(" {k}={other}")),
            }
        }
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{line}");
        }
    }
}

#[derive(Debug)]
struct RotatingFile {
    path: PathBuf,
    file: File,
}

impl RotatingFile {
    fn open(path: &Path) -> Result<Self> {
        let ctx = || format!("opening the log file {}", path.display());
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fsutil::create_private_dir(dir)?;
        }
        let file = open_private_append(path).map_err(|e| Error::io(ctx(), e))?;
        Ok(RotatingFile {
            path: path.to_path_buf(),
            file,
        })
    }

    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        let len = self.file.metadata().map(|m| m.len()).unwrap_or(0);
        if len > 0 && len + line.len() as u64 > crate::core::audit::ROTATE_BYTES {
            rotate_if_needed(&self.path, line.len() as u64)?;
            self.file = open_private_append(&self.path)?;
        }
        self.file.write_all(line.as_bytes())
    }
}

struct JsonFileLayer {
    file: Arc<Mutex<RotatingFile>>,
    corr: String,
}

impl<S: Subscriber> Layer<S> for JsonFileLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let mut obj = Map::new();
        obj.insert(
            "ts".into(),
            Value::String(
                chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
            ),
        );
        obj.insert("level".into(), Value::from(level_name(meta.level())));
        obj.insert("target".into(), Value::from(meta.target()));
        obj.insert("corr".into(), Value::from(self.corr.as_str()));
        obj.insert("msg".into(), Value::from(fields.message));
        for (k, v) in fields.extra {
            obj.entry(k).or_insert(v);
        }
        let mut line = Value::Object(obj).to_string();
        line.push('\n');
        if let Ok(mut f) = self.file.lock() {
            // Diagnostics must never break the command.
            let _ = f.write_line(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::output::SharedBuffer;

    fn run(opts: &LogOptions, debug: bool, f: impl FnOnce()) -> (String, LogGuard) {
        let buf = SharedBuffer::default();
        let (sub, guard) = build(opts, debug, Box::new(buf.clone())).unwrap();
        tracing::subscriber::with_default(sub, f);
        (buf.contents(), guard)
    }

    fn emit_all() {
        tracing::debug!(target: "xnatctl::core::client", method = "GET", status = 200u64, "GET https://h/data?token=abc -> 200");
        tracing::info!(target: "xnatctl::services", "info line");
        tracing::warn!(target: "xnatctl::core::retry", "retrying");
        tracing::error!(target: "xnatctl::cli", "failed");
        tracing::warn!(target: "hyper::proto", "dep warning");
        tracing::debug!(target: "hyper::proto", "dep debug");
    }

    #[test]
    fn console_levels_follow_verbosity() {
        let count = |v: i8, debug: bool| {
            let (out, _) = run(
                &LogOptions {
                    verbosity: v,
                    log_file: None,
                },
                debug,
                emit_all,
            );
            out.lines().count()
        };
        assert_eq!(count(-1, false), 1);
        assert_eq!(count(0, false), 3);
        assert_eq!(count(1, false), 4);
        assert_eq!(count(2, false), 5);
        assert_eq!(count(0, true), 6);
    }

    #[test]
    fn console_format_and_redaction() {
        let (out, _) = run(
            &LogOptions {
                verbosity: 2,
                log_file: None,
            },
            false,
            emit_all,
        );
        let first = out.lines().next().unwrap();
        let re = regex::Regex::new(
            r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} DEBUG xnatctl::core::client: GET https://h/data\?token=\*\*\* -> 200 method=GET status=200$",
        )
        .unwrap();
        assert!(re.is_match(first), "{first}");
    }

    #[test]
    fn json_file_captures_debug_of_xnatctl_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs").join("x.jsonl");
        let opts = LogOptions {
            verbosity: 0,
            log_file: Some(path.clone()),
        };
        let (_, guard) = run(&opts, false, emit_all);
        let corr = guard.corr().to_string();
        drop(guard);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(corr.len(), 12);
        assert!(corr.chars().all(|c| c.is_ascii_hexdigit()));
        let first = &lines[0];
        assert_eq!(first["level"], "DEBUG");
        assert_eq!(first["target"], "xnatctl::core::client");
        assert_eq!(first["corr"], corr.as_str());
        assert_eq!(first["msg"], "GET https://h/data?token=*** -> 200");
        assert_eq!(first["status"], 200);
        assert_eq!(first["method"], "GET");
        assert!(first["ts"].as_str().unwrap().contains('T'));
        assert!(!text.contains("abc"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dmode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dmode & 0o777, 0o700);
        }
    }

    #[test]
    fn log_file_rotates_at_ten_mib() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        std::fs::write(&path, vec![b'x'; crate::core::audit::ROTATE_BYTES as usize]).unwrap();
        let opts = LogOptions {
            verbosity: 0,
            log_file: Some(path.clone()),
        };
        run(
            &opts,
            false,
            || tracing::debug!(target: "xnatctl", "after rotation"),
        );
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("after rotation"));
        let mut rotated = path.as_os_str().to_owned();
        rotated.push(".1");
        assert_eq!(
            std::fs::metadata(PathBuf::from(rotated)).unwrap().len(),
            crate::core::audit::ROTATE_BYTES
        );
    }
}
