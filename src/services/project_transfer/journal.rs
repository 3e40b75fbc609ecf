//! The transfer state: an append-only journal of JSON lines in the config directory
//! (`transfer.journal`, mode 0600).
//!
//! Why a journal and not SQLite (the reference's `transfer.db`): every fact is written once, as one
//! line, flushed to disk before the next step starts, so a crash or a Ctrl-C at any moment leaves
//! every earlier record intact and at worst one torn last line, which loading skips. There is no
//! schema to migrate, no C library to build, and the file reads with `jq`. The state a run needs
//! (the last good copy of each source experiment, with its fingerprint and destination id) is
//! rebuilt by replaying the file; at one line per experiment per run that stays small.
//!
//! One run at a time writes (an exclusive lock on `transfer.journal.lock` is held for the run).

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::fsutil::{self, FileLock};
use crate::core::{Error, Result};

/// The journal's file name in the config directory.
pub const FILE_NAME: &str = "transfer.journal";

/// Which source project goes to which destination project.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pair {
    /// Normalised source base URL.
    pub source_url: String,
    /// Source project.
    pub source_project: String,
    /// Normalised destination base URL.
    pub dest_url: String,
    /// Destination project.
    pub dest_project: String,
}

/// How an experiment copy ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryStatus {
    /// Copied and compared with the source.
    Verified,
    /// Copied; verification was turned off.
    Synced,
    /// Not (completely) copied; retried by the next run.
    Failed,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Record {
    /// A run started.
    Run {
        /// Run id (1, 2, ...).
        run: u64,
        /// The projects and servers.
        #[serde(flatten)]
        pair: Pair,
        /// RFC 3339 start time.
        started: String,
    },
    /// One experiment was copied (or failed to be).
    Experiment {
        /// The run.
        run: u64,
        /// Source accession id.
        source_id: String,
        /// Label (the same on both sides).
        label: String,
        /// Subject label.
        subject: String,
        /// Destination accession id, when known.
        dest_id: Option<String>,
        /// Digest of the source's file catalog (paths, sizes, MD5s) as copied.
        fingerprint: String,
        /// Outcome.
        status: EntryStatus,
        /// Why it failed.
        message: Option<String>,
        /// Files copied.
        files: u64,
        /// Bytes copied.
        bytes: u64,
    },
    /// A run ended.
    End {
        /// The run.
        run: u64,
        /// `completed`, `failed` or `interrupted`.
        status: String,
        /// RFC 3339 end time.
        ended: String,
        /// Subjects copied completely.
        subjects_synced: u64,
        /// Subjects with a failed experiment.
        subjects_failed: u64,
        /// Subjects with nothing new.
        subjects_skipped: u64,
        /// Experiments copied.
        experiments_synced: u64,
    },
}

/// A run as `transfer-status`/`transfer-history` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    /// Run id.
    pub run: u64,
    /// Servers and projects.
    pub pair: Pair,
    /// Start time.
    pub started: String,
    /// The end record, when the run ended.
    pub end: Option<Record>,
}

/// The last good copy of one source experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// Fingerprint of the source as copied.
    pub fingerprint: String,
    /// Destination accession id.
    pub dest_id: Option<String>,
}

/// The replayed journal.
#[derive(Debug, Default)]
pub struct History {
    records: Vec<Record>,
}

impl History {
    /// Parse journal text; unreadable lines (a torn last line after a crash) are skipped.
    pub fn parse(text: &str) -> Self {
        History {
            records: text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect(),
        }
    }

    /// Read the journal in `dir` (empty when there is none).
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE_NAME);
        match std::fs::File::open(&path) {
            Ok(f) => {
                let mut text = String::new();
                for line in std::io::BufReader::new(f).lines() {
                    match line {
                        Ok(l) => {
                            text.push_str(&l);
                            text.push('\n');
                        }
                        // A torn multi-byte character at the very end.
                        Err(_) => break,
                    }
                }
                Ok(Self::parse(&text))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(History::default()),
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    /// Whether the journal holds any run at all.
    pub fn is_empty(&self) -> bool {
        !self.records.iter().any(|r| matches!(r, Record::Run { .. }))
    }

    /// The next run id.
    pub fn next_run(&self) -> u64 {
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::Run { run, .. } => Some(*run),
                _ => None,
            })
            .max()
            .unwrap_or(0)
            + 1
    }

    /// Runs from this source server and project, oldest first.
    pub fn runs_of(&self, source_url: &str, source_project: &str) -> Vec<RunView> {
        let mut runs: Vec<RunView> = self
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Run { run, pair, started }
                    if pair.source_url == source_url && pair.source_project == source_project =>
                {
                    Some(RunView {
                        run: *run,
                        pair: pair.clone(),
                        started: started.clone(),
                        end: None,
                    })
                }
                _ => None,
            })
            .collect();
        for r in &self.records {
            if let Record::End { run, .. } = r {
                if let Some(v) = runs.iter_mut().find(|v| v.run == *run) {
                    v.end = Some(r.clone());
                }
            }
        }
        runs
    }

    /// Runs that never wrote their end (a crash), by id.
    pub fn unfinished(&self) -> Vec<u64> {
        let ended: Vec<u64> = self
            .records
            .iter()
            .filter_map(|r| match r {
                Record::End { run, .. } => Some(*run),
                _ => None,
            })
            .collect();
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::Run { run, .. } if !ended.contains(run) => Some(*run),
                _ => None,
            })
            .collect()
    }

    /// For each source experiment of `pair`, its last record's outcome when that was a good
    /// copy (a later failure withdraws an earlier success: the destination may be half-changed).
    pub fn done(&self, pair: &Pair) -> HashMap<String, Done> {
        let runs: Vec<u64> = self
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Run { run, pair: p, .. } if p == pair => Some(*run),
                _ => None,
            })
            .collect();
        let mut out = HashMap::new();
        for r in &self.records {
            if let Record::Experiment {
                run,
                source_id,
                dest_id,
                fingerprint,
                status,
                ..
            } = r
            {
                if !runs.contains(run) {
                    continue;
                }
                if *status == EntryStatus::Failed {
                    out.remove(source_id);
                } else {
                    out.insert(
                        source_id.clone(),
                        Done {
                            fingerprint: fingerprint.clone(),
                            dest_id: dest_id.clone(),
                        },
                    );
                }
            }
        }
        out
    }
}

/// The journal opened for one run: holds the lock and appends records.
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
    _lock: FileLock,
}

impl Journal {
    /// Lock and open the journal in `dir` for appending (created 0600); returns it with the
    /// history as it stood. Runs a crash left open are closed as `interrupted` first.
    pub fn open(dir: &Path) -> Result<(Journal, History)> {
        fsutil::create_private_dir(dir)?;
        let path = dir.join(FILE_NAME);
        let lock = fsutil::lock_exclusive(&path)?;
        let history = History::load(dir)?;
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts
            .open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let mut j = Journal {
            path,
            file,
            _lock: lock,
        };
        // A torn last line would glue itself to the next record: start on a fresh line.
        if std::fs::read(&j.path).is_ok_and(|b| !b.is_empty() && b.last() != Some(&b'\n')) {
            j.file
                .write_all(b"\n")
                .map_err(|e| Error::io(format!("writing {}", j.path.display()), e))?;
        }
        for run in history.unfinished() {
            j.append(&Record::End {
                run,
                status: "interrupted".into(),
                ended: now(),
                subjects_synced: 0,
                subjects_failed: 0,
                subjects_skipped: 0,
                experiments_synced: 0,
            })?;
        }
        let history = History::load(dir)?;
        Ok((j, history))
    }

    /// Append one record and flush it to disk before returning.
    pub fn append(&mut self, record: &Record) -> Result<()> {
        let mut line = serde_json::to_vec(record).map_err(|source| Error::Json {
            context: "writing the transfer journal",
            source,
        })?;
        line.push(b'\n');
        let ctx = || format!("writing {}", self.path.display());
        self.file
            .write_all(&line)
            .map_err(|e| Error::io(ctx(), e))?;
        self.file.sync_data().map_err(|e| Error::io(ctx(), e))
    }
}

/// The current time, RFC 3339 with microseconds (as the reference's timestamps).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> Pair {
        Pair {
            source_url: "http://a".into(),
            source_project: "P".into(),
            dest_url: "http://b".into(),
            dest_project: "Q".into(),
        }
    }

    fn exp(run: u64, id: &str, status: EntryStatus) -> Record {
        Record::Experiment {
            run,
            source_id: id.into(),
            label: id.into(),
            subject: "S".into(),
            dest_id: Some(format!("D{id}")),
            fingerprint: format!("f{run}"),
            status,
            message: None,
            files: 1,
            bytes: 1,
        }
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_a_later_failure_withdraws_a_success() {
        let run = |n| Record::Run {
            run: n,
            pair: pair(),
            started: "t".into(),
        };
        let mut text = String::new();
        for r in [
            run(1),
            exp(1, "E1", EntryStatus::Verified),
            exp(1, "E2", EntryStatus::Verified),
            run(2),
            exp(2, "E2", EntryStatus::Failed),
            exp(2, "E3", EntryStatus::Synced),
        ] {
            text.push_str(&serde_json::to_string(&r).unwrap());
            text.push('\n');
        }
        text.push_str("{\"kind\":\"experim");
        let h = History::parse(&text);
        let done = h.done(&pair());
        assert_eq!(done.len(), 2);
        assert_eq!(done["E1"].fingerprint, "f1");
        assert_eq!(done["E3"].dest_id.as_deref(), Some("DE3"));
        assert_eq!(h.next_run(), 3);
        assert_eq!(h.unfinished(), vec![1, 2]);
        let other = Pair {
            dest_project: "R".into(),
            ..pair()
        };
        assert!(h.done(&other).is_empty());
    }

    #[test]
    fn open_closes_crashed_runs_and_writes_0600() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut j, h) = Journal::open(dir.path()).unwrap();
            assert!(h.is_empty());
            j.append(&Record::Run {
                run: 1,
                pair: pair(),
                started: now(),
            })
            .unwrap();
        }
        let (_j, h) = Journal::open(dir.path()).unwrap();
        let runs = h.runs_of("http://a", "P");
        assert_eq!(runs.len(), 1);
        assert!(
            matches!(&runs[0].end, Some(Record::End { status, .. }) if status == "interrupted")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
