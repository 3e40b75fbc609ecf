//! The legacy pipeline engine's data: the site's pipeline catalog and the workflows
//! (`wrk:workflowData`) that launches create, whose status walks on a clock.
//!
//! No pipeline engine runs: a launched workflow's life is a plan fixed at launch ([`JobPlan`]):
//! `Queued`, then `Running` through its steps, then `Complete` or `Failed`. Its status is computed
//! from the time elapsed, so a client polling it sees it progress as a real one would; tests pick
//! the plan (fast steps, a failure, a job that never finishes) before launching. A `PUT` of
//! `wrk:workflowData/status` (how XNAT's own UI marks a workflow) overrides the clock from then on.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One pipeline of the site's repository (`PipelineRepositoryManager.toTable` columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineDef {
    pub name: &'static str,
    pub description: &'static str,
    pub path: &'static str,
    pub datatype: &'static str,
    pub generates: &'static str,
}

/// The pipelines a plain XNAT with the pipeline engine installed offers.
pub const CATALOG: &[PipelineDef] = &[
    PipelineDef {
        name: "DicomToNifti",
        description: "Builds NIfTI files from the DICOM scans of a session",
        path: "/data/xnat/pipeline/catalog/mricron/DicomToNifti.xml",
        datatype: "xnat:imageSessionData",
        generates: "",
    },
    PipelineDef {
        name: "AutoRun",
        description: "Runs after archiving: snapshots and scan-type fixes",
        path: "/data/xnat/pipeline/catalog/xnat_tools/AutoRun.xml",
        datatype: "xnat:imageSessionData",
        generates: "",
    },
];

/// How a launched workflow ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    Complete,
    Failed,
    /// Keeps `Running` until its status is set from outside.
    Hang,
}

/// The life a workflow launched from now on will lead.
#[derive(Debug, Clone, Copy)]
pub struct JobPlan {
    /// Time queued, and in each running step.
    pub step: Duration,
    /// Running steps.
    pub steps: u32,
    pub outcome: JobOutcome,
}

impl Default for JobPlan {
    fn default() -> Self {
        JobPlan {
            step: Duration::from_millis(500),
            steps: 2,
            outcome: JobOutcome::Complete,
        }
    }
}

/// One `wrk:workflowData` row.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// `wrk_workflowData_id`, the primary key.
    pub id: u64,
    /// The experiment's accession id (`ID`).
    pub experiment: String,
    /// `ExternalID`: the project.
    pub project: String,
    pub data_type: String,
    pub pipeline_name: String,
    /// `launch_time` as XNAT prints it (`2026-11-30 00:12:01.123`).
    pub launch_time: String,
    pub launched: Instant,
    pub launched_wall: chrono::DateTime<chrono::Local>,
    pub user: String,
    pub params: Vec<(String, String)>,
    pub plan: JobPlan,
    /// A status set with `PUT`, and when.
    pub set_status: Option<(String, Instant, String)>,
}

impl Workflow {
    /// `(status, current step, percent complete, step description)` at `now`.
    pub fn state(&self, now: Instant) -> (String, u32, u32, String) {
        if let Some((status, _, _)) = &self.set_status {
            return (status.clone(), self.plan.steps, 100, status.clone());
        }
        let step = self.plan.step.as_nanos().max(1);
        let elapsed = now.duration_since(self.launched).as_nanos();
        let n = (elapsed / step) as u32;
        if n == 0 {
            return ("Queued".into(), 0, 0, "Queued".into());
        }
        let running = n.min(self.plan.steps);
        if n <= self.plan.steps || self.plan.outcome == JobOutcome::Hang {
            let pct = 100 * (running - 1).min(self.plan.steps) / self.plan.steps.max(1);
            return (
                "Running".into(),
                running,
                pct,
                format!("step {running} of {}", self.plan.steps),
            );
        }
        match self.plan.outcome {
            JobOutcome::Failed => (
                "Failed".into(),
                self.plan.steps,
                100 * (self.plan.steps - 1) / self.plan.steps.max(1),
                format!(
                    "step {} of {} exited with code 1",
                    self.plan.steps, self.plan.steps
                ),
            ),
            _ => ("Complete".into(), self.plan.steps, 100, "Complete".into()),
        }
    }

    /// When the current step (or the final state) began, as a wall-clock string.
    pub fn step_time(&self, now: Instant) -> String {
        let since = match &self.set_status {
            Some((_, at, _)) => at.duration_since(self.launched),
            None => {
                let step = self.plan.step;
                let elapsed = now.duration_since(self.launched);
                let last = self.plan.steps + 1;
                let n = ((elapsed.as_nanos() / step.as_nanos().max(1)) as u32).min(last);
                step * n
            }
        };
        let t = self.launched_wall + chrono::Duration::from_std(since).unwrap_or_default();
        t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
    }
}

/// The engine: workflows by id, the plan for the next launches, and the wall clock of each launch.
#[derive(Debug, Default)]
pub struct PipelineEngine {
    pub workflows: BTreeMap<u64, Workflow>,
    pub plan: JobPlan,
    pub next_id: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow(outcome: JobOutcome) -> Workflow {
        Workflow {
            id: 1,
            experiment: "XNAT_E00001".into(),
            project: "P".into(),
            data_type: "xnat:mrSessionData".into(),
            pipeline_name: "DicomToNifti".into(),
            launch_time: "t".into(),
            launched: Instant::now(),
            launched_wall: chrono::Local::now(),
            user: "admin".into(),
            params: Vec::new(),
            plan: JobPlan {
                step: Duration::from_secs(1),
                steps: 2,
                outcome,
            },
            set_status: None,
        }
    }

    fn status_at(w: &Workflow, ms: u64) -> String {
        w.state(w.launched + Duration::from_millis(ms)).0
    }

    #[test]
    fn a_workflow_walks_queued_running_then_its_outcome() {
        let w = workflow(JobOutcome::Complete);
        let seen: Vec<String> = [0, 999, 1000, 2500, 2999, 3000, 9000]
            .iter()
            .map(|ms| status_at(&w, *ms))
            .collect();
        assert_eq!(
            seen,
            ["Queued", "Queued", "Running", "Running", "Running", "Complete", "Complete"]
        );
        assert_eq!(status_at(&workflow(JobOutcome::Failed), 3000), "Failed");
        assert_eq!(status_at(&workflow(JobOutcome::Hang), 60_000), "Running");
    }

    #[test]
    fn a_status_set_from_outside_wins_over_the_clock() {
        let mut w = workflow(JobOutcome::Hang);
        w.set_status = Some(("Killed".into(), w.launched, "admin".into()));
        assert_eq!(status_at(&w, 5000), "Killed");
    }
}
