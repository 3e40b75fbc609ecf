//! The Container Service plugin's data: commands (with their wrappers in `xnat[]`), per-site and
//! per-project wrapper enablement and configuration, and containers that walk through the
//! plugin's states on a clock.
//!
//! No Docker: a launched container's life is a plan fixed at launch ([`RunPlan`]): `Created`,
//! then `Running` while it writes one stdout line per step, then its outcome. Its status, history
//! and logs are computed from the time elapsed, so a client polling it sees them progress exactly
//! as a real container would; tests pick the plan (fast steps, a failure, a container that never
//! finishes) with [`ContainerService::plan`] before launching.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

/// How a launched container ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `Complete`, exit code 0.
    Complete,
    /// `Failed`, exit code 1, a line on stderr.
    Failed,
    /// Keeps `Running` (writing no more lines) until killed.
    Hang,
}

/// The life a container launched from now on will lead.
#[derive(Debug, Clone, Copy)]
pub struct RunPlan {
    /// Time in each state, and between two log lines.
    pub step: Duration,
    /// stdout lines written while running.
    pub lines: u32,
    pub outcome: Outcome,
}

impl Default for RunPlan {
    fn default() -> Self {
        RunPlan {
            step: Duration::from_millis(500),
            lines: 3,
            outcome: Outcome::Complete,
        }
    }
}

/// One launched container: the record fields fixed at launch, and its plan.
#[derive(Debug, Clone)]
pub struct SimContainer {
    pub id: u64,
    pub command_id: u64,
    pub wrapper_id: u64,
    pub project: String,
    pub user: String,
    pub image: String,
    pub params: Map<String, Value>,
    pub workflow_id: String,
    pub launched: Instant,
    pub launched_wall: DateTime<Utc>,
    pub plan: RunPlan,
    /// Time after launch at which it was killed.
    pub killed: Option<Duration>,
}

/// One state the container went through, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub status: &'static str,
    pub at: Duration,
    pub exit_code: Option<&'static str>,
}

impl SimContainer {
    /// The phases reached by `elapsed`, oldest first.
    pub fn phases(&self, elapsed: Duration) -> Vec<Phase> {
        let step = self.plan.step;
        let ended = step * (1 + self.plan.lines);
        let mut out = vec![Phase {
            status: "Created",
            at: Duration::ZERO,
            exit_code: None,
        }];
        let horizon = match self.killed {
            Some(k) => elapsed.min(k),
            None => elapsed,
        };
        if horizon >= step {
            out.push(Phase {
                status: "Running",
                at: step,
                exit_code: None,
            });
        }
        let finished = self.plan.outcome != Outcome::Hang && horizon >= ended;
        if finished {
            let (status, code) = match self.plan.outcome {
                Outcome::Failed => ("Failed", "1"),
                _ => ("Complete", "0"),
            };
            out.push(Phase {
                status,
                at: ended,
                exit_code: Some(code),
            });
        } else if let Some(k) = self.killed.filter(|k| *k <= elapsed) {
            out.push(Phase {
                status: "Killed",
                at: k,
                exit_code: Some("137"),
            });
        }
        out
    }

    /// The current status.
    pub fn status(&self, now: Instant) -> &'static str {
        self.phases(now.duration_since(self.launched))
            .last()
            .map(|p| p.status)
            .unwrap_or("Created")
    }

    pub fn is_finished(&self, now: Instant) -> bool {
        matches!(self.status(now), "Complete" | "Failed" | "Killed")
    }

    /// The log written by `now`: one stdout line per step while running; a failure adds a stderr
    /// line at the end.
    pub fn log(&self, now: Instant, stderr: bool) -> String {
        let elapsed = now.duration_since(self.launched);
        let horizon = match self.killed {
            Some(k) => elapsed.min(k),
            None => elapsed,
        };
        let step = self.plan.step.as_nanos().max(1);
        let written = ((horizon.as_nanos() / step) as u32).min(self.plan.lines);
        if stderr {
            let failed = self.phases(elapsed).iter().any(|p| p.status == "Failed");
            return if failed {
                "error: simulated failure (exit code 1)\n".to_string()
            } else {
                String::new()
            };
        }
        (1..=written)
            .map(|i| format!("[{}] step {i} of {}\n", self.id, self.plan.lines))
            .collect()
    }

    /// The plugin's `Container` JSON (kebab-case keys) as of `now`.
    pub fn to_json(&self, now: Instant, history_base: u64) -> Value {
        let elapsed = now.duration_since(self.launched);
        let phases = self.phases(elapsed);
        let stamp = |at: Duration| {
            let t = self.launched_wall + chrono::Duration::from_std(at).unwrap_or_default();
            t.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
        };
        let history: Vec<Value> = phases
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({
                    "id": history_base + i as u64,
                    "status": p.status,
                    "entity-type": if p.status == "Created" || p.status == "Killed" { "user" } else { "event" },
                    "entity-id": if p.status == "Created" || p.status == "Killed" { Value::from(self.user.clone()) } else { Value::Null },
                    "time-recorded": stamp(p.at),
                    "external-timestamp": if p.status == "Created" { Value::Null } else { Value::from(stamp(p.at)) },
                    "message": Value::Null,
                    "exitCode": p.exit_code,
                })
            })
            .collect();
        let last = phases.last().cloned().unwrap_or(Phase {
            status: "Created",
            at: Duration::ZERO,
            exit_code: None,
        });
        let docker_id = format!(
            "{:064x}",
            u128::from(self.id).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        );
        json!({
            "id": self.id,
            "command-id": self.command_id,
            "status": last.status,
            "status-time": stamp(last.at),
            "wrapper-id": self.wrapper_id,
            "container-id": docker_id,
            "workflow-id": self.workflow_id,
            "user-id": self.user,
            "project": self.project,
            "backend": "docker",
            "service-id": Value::Null,
            "task-id": Value::Null,
            "node-id": Value::Null,
            "docker-image": self.image,
            "container-name": format!("xnat-{}", self.id),
            "command-line": "run.sh",
            "override-entrypoint": false,
            "working-directory": Value::Null,
            "subtype": Value::Null,
            "parent-source-object-name": Value::Null,
            "env": {"XNAT_HOST": "http://xnat", "XNAT_USER": self.user, "XNAT_PASS": "******"},
            "ports": {},
            "mounts": [],
            "inputs": self.params.iter().map(|(k, v)| json!({
                "id": 0, "type": "raw", "name": k, "value": v, "sensitive": false
            })).collect::<Vec<_>>(),
            "outputs": [],
            "history": history,
            "log-paths": [],
            "auto-remove": false,
            "container-labels": {},
            "secrets": [],
        })
    }
}

/// Everything the plugin stores.
#[derive(Debug, Default)]
pub struct ContainerService {
    /// Command id → the command JSON as stored (ids filled in, unknown keys kept).
    pub commands: BTreeMap<u64, Map<String, Value>>,
    pub next_command: u64,
    pub next_wrapper: u64,
    pub next_container: u64,
    /// Wrapper ids enabled site-wide.
    pub site_enabled: BTreeSet<u64>,
    /// (project, wrapper id) pairs enabled.
    pub project_enabled: BTreeSet<(String, u64)>,
    /// Wrapper id → the stored site configuration (`{"inputs": {...}, "outputs": {...}}`).
    pub site_config: BTreeMap<u64, Value>,
    pub project_config: BTreeMap<(String, u64), Value>,
    pub containers: BTreeMap<u64, SimContainer>,
    /// The plan of containers launched from now on.
    pub plan: RunPlan,
}

impl ContainerService {
    /// The command holding wrapper `wid`, and that wrapper.
    pub fn wrapper(&self, wid: u64) -> Option<(u64, &Map<String, Value>)> {
        self.commands.iter().find_map(|(cid, c)| {
            wrappers(c)
                .find(|w| w.get("id").and_then(Value::as_u64) == Some(wid))
                .map(|w| (*cid, w))
        })
    }

    /// The id of the wrapper named `name` on command `cid`.
    pub fn wrapper_by_name(&self, cid: u64, name: &str) -> Option<u64> {
        wrappers(self.commands.get(&cid)?)
            .find(|w| w.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|w| w.get("id").and_then(Value::as_u64))
    }

    /// Forget the enablement and configuration of wrappers that no longer exist.
    pub fn prune(&mut self) {
        let live: BTreeSet<u64> = self
            .commands
            .values()
            .flat_map(|c| wrappers(c).filter_map(|w| w.get("id").and_then(Value::as_u64)))
            .collect();
        self.site_enabled.retain(|w| live.contains(w));
        self.project_enabled.retain(|(_, w)| live.contains(w));
        self.site_config.retain(|w, _| live.contains(w));
        self.project_config.retain(|(_, w), _| live.contains(w));
    }
}

/// The wrapper objects of a command's `xnat` array.
pub fn wrappers(command: &Map<String, Value>) -> impl Iterator<Item = &Map<String, Value>> {
    command
        .get("xnat")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(plan: RunPlan) -> SimContainer {
        SimContainer {
            id: 4,
            command_id: 1,
            wrapper_id: 2,
            project: "P".into(),
            user: "admin".into(),
            image: "busybox:latest".into(),
            params: Map::new(),
            workflow_id: "To be assigned".into(),
            launched: Instant::now(),
            launched_wall: Utc::now(),
            plan,
            killed: None,
        }
    }

    #[test]
    fn a_container_walks_created_running_complete_and_its_log_grows() {
        let c = container(RunPlan {
            step: Duration::from_secs(1),
            lines: 2,
            outcome: Outcome::Complete,
        });
        let at = |ms| c.launched + Duration::from_millis(ms);
        assert_eq!(c.status(at(500)), "Created");
        assert_eq!(c.log(at(500), false), "");
        assert_eq!(c.status(at(1500)), "Running");
        assert_eq!(c.log(at(1500), false), "[4] step 1 of 2\n");
        assert_eq!(c.status(at(3000)), "Complete");
        assert_eq!(c.log(at(9000), false), "[4] step 1 of 2\n[4] step 2 of 2\n");
        let j = c.to_json(at(3000), 10);
        let statuses: Vec<&str> = j["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["Created", "Running", "Complete"]);
    }

    #[test]
    fn a_killed_container_stops_writing_and_says_killed() {
        let mut c = container(RunPlan {
            step: Duration::from_secs(1),
            lines: 5,
            outcome: Outcome::Hang,
        });
        c.killed = Some(Duration::from_millis(2500));
        let later = c.launched + Duration::from_secs(60);
        assert_eq!(c.status(later), "Killed");
        assert_eq!(c.log(later, false).lines().count(), 2);
    }

    #[test]
    fn a_failed_container_writes_stderr() {
        let c = container(RunPlan {
            step: Duration::from_millis(10),
            lines: 1,
            outcome: Outcome::Failed,
        });
        let later = c.launched + Duration::from_secs(1);
        assert_eq!(c.status(later), "Failed");
        assert!(c.log(later, true).contains("exit code 1"));
    }
}
