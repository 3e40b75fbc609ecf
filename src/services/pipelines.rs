//! XNAT's legacy pipeline engine, through the REST resources xnat-web really serves: the
//! pipeline lists, a launch on one experiment, and the workflow (`wrk:workflowData`) each launch
//! records, whose primary key is the job id.
//!
//! The reference calls `/data/pipelines`, `/data/experiments/{E}/pipelines/{NAME}` and
//! `/data/pipelines/jobs/{JOB}`, none of which XNAT routes (`XNATApplication.addRoutes` attaches
//! only `/projects/{P}/pipelines` and `/projects/{P}/pipelines/{STEP}/experiments/{E}`; jobs are
//! workflows under `/workflows` and `/services/workflows`). What we call instead:
//! * list: `GET /data/projects/{P}/pipelines` (owners), or `GET /xapi/pipelines/site`;
//! * run: `POST /data/projects/{P}/pipelines/{NAME}/experiments/{E}?k=v...`, which answers 200
//!   with an empty body even when nothing was launched, then
//!   `GET /data/services/workflows/{NAME}?experiment={E}&display=LATEST` for the workflow it
//!   created (one launched before ours, or none, means the launch did not happen);
//! * status: `GET /data/workflows/{JOB}`; cancel: `PUT /data/workflows/{JOB}?
//!   wrk:workflowData/status=Killed` (XNAT's way of marking a workflow; the launcher or an admin);
//! * jobs: `GET /data/services/workflows[?project=P][&status=S]` (the latest workflow of each
//!   experiment; its rows carry no workflow id, so each row's id is looked up with
//!   `GET /data/workflows?wrk:workflowData/ID=..&..pipeline_name=..&..launch_time=..`).

use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::{seg, XnatClient};
use crate::core::output::{Item, Row};
use crate::core::{Error, Result};

/// One pipeline of a project's or the site's list, as the server sends it (`Applies To`,
/// `Generates`, `Name`, `Description`, `Path`, `Datatype`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Pipeline(pub Map<String, Value>);

impl Row for Pipeline {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("Name", "Name"),
        ("Description", "Description"),
        ("Path", "Path"),
        ("Datatype", "Datatype"),
    ];
    const ID: &'static str = "Name";
    const TITLE: Option<&'static str> = Some("Available Pipelines");
}

/// A pipeline job: one workflow record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    /// The workflow id (`wrk_workflowData_id`); `None` when the server did not say.
    pub id: Option<u64>,
    /// Pipeline name (or path).
    pub pipeline: String,
    /// Experiment accession id.
    pub experiment: String,
    /// The experiment's project.
    pub project: String,
    /// `Queued`, `Running`, `Complete`, `Failed`, `Killed`, ... as the server has it.
    pub status: String,
    /// What the job is doing or why it stopped (`step_description`).
    pub message: Option<String>,
    /// `percentageComplete`, as sent.
    pub percent_complete: Option<String>,
    /// `launch_time`.
    pub start_time: Option<String>,
    /// When it reached its final status (the last step's time), once it has.
    pub end_time: Option<String>,
}

impl Row for Job {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "ID"),
        ("pipeline", "Pipeline"),
        ("experiment", "Experiment"),
        ("status", "Status"),
        ("start_time", "Started"),
        ("end_time", "Ended"),
    ];
    const ID: &'static str = "id";
    const TITLE: Option<&'static str> = Some("Pipeline Jobs");
}

impl Item for Job {
    const ID: &'static str = "id";
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("id", "Job ID"),
        ("start_time", "Started"),
        ("end_time", "Ended"),
        ("percent_complete", "Percent Complete"),
    ];
}

/// The reference's terminal statuses (compared capitalised); `Killed` counts as done, not failed.
pub fn is_terminal(status: &str) -> bool {
    matches!(
        capitalize(status).as_str(),
        "Complete" | "Failed" | "Error" | "Killed"
    )
}

/// A terminal status that is a failure (`Failed`, `Error`).
pub fn is_failure(status: &str) -> bool {
    matches!(capitalize(status).as_str(), "Failed" | "Error")
}

fn capitalize(s: &str) -> String {
    let lower = s.trim().to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    match m.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A job from a workflow item's `data_fields`.
pub fn job_from_fields(f: &Map<String, Value>) -> Job {
    let status = text(f, "status").unwrap_or_else(|| "Unknown".into());
    let done = is_terminal(&status);
    Job {
        id: text(f, "wrk_workflowData_id").and_then(|v| v.parse().ok()),
        pipeline: text(f, "pipeline_name").unwrap_or_default(),
        experiment: text(f, "ID").unwrap_or_default(),
        project: text(f, "ExternalID").unwrap_or_default(),
        message: text(f, "step_description").filter(|m| *m != status),
        percent_complete: text(f, "percentageComplete"),
        start_time: text(f, "launch_time"),
        end_time: done.then(|| text(f, "current_step_launch_time")).flatten(),
        status,
    }
}

/// The `data_fields` of the first item of an items document.
fn item_fields(doc: &Value, what: &str) -> Result<Map<String, Value>> {
    doc.get("items")
        .and_then(|i| i.get(0))
        .and_then(|i| i.get("data_fields"))
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| Error::Operation(format!("unexpected answer for {what}: no workflow item")))
}

/// `GET /data/projects/{P}/pipelines?format=json`, or the site's `GET /xapi/pipelines/site`.
pub async fn list(client: &XnatClient, project: Option<&str>) -> Result<Vec<Pipeline>> {
    let rows = match project {
        Some(p) => {
            crate::core::validation::validate_project_id(p)?;
            let path = format!("/data/projects/{}/pipelines", seg(p)?);
            client.list_rows(&path, &[]).await.map_err(|e| match e {
                Error::NotFound { .. } => Error::not_found("project", p),
                other => other,
            })?
        }
        None => client.list_rows("/xapi/pipelines/site", &[]).await?,
    };
    Ok(rows.into_iter().map(Pipeline).collect())
}

fn workflow_path(job: &str) -> Result<String> {
    if job.is_empty() || !job.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::InvalidInput(format!(
            "invalid job id: {job:?} - XNAT's job ids are workflow numbers"
        )));
    }
    Ok(format!("/data/workflows/{job}"))
}

/// `GET /data/workflows/{JOB}?format=json` (404 → `pipeline job not found`).
pub async fn status(client: &XnatClient, job: &str) -> Result<Job> {
    let path = workflow_path(job)?;
    let doc = client.get_json(&path, &[]).await.map_err(|e| match e {
        Error::NotFound { .. } => Error::not_found("pipeline job", job),
        other => other,
    })?;
    Ok(job_from_fields(&item_fields(&doc, &path)?))
}

/// `PUT /data/workflows/{JOB}?wrk:workflowData/status=Killed`.
pub async fn cancel(client: &XnatClient, job: &str) -> Result<()> {
    let path = workflow_path(job)?;
    client
        .request(Method::PUT, &path)
        .query("wrk:workflowData/status", "Killed")
        .send()
        .await
        .map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found("pipeline job", job),
            other => other,
        })?;
    Ok(())
}

/// What `pipeline run` prints in JSON: the reference's keys; `result` is the workflow the launch
/// created, `final_status` the job once `--wait` saw it end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunResult {
    /// Always true (a failed launch is an error).
    pub success: bool,
    /// Pipeline name.
    pub pipeline: String,
    /// Experiment accession id.
    pub experiment: String,
    /// The job (workflow) id.
    pub job_id: Option<u64>,
    /// The job as recorded at launch.
    pub result: Job,
    /// The job at its end (`--wait`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_status: Option<Job>,
}

impl Item for RunResult {
    const ID: &'static str = "job_id";
}

/// The latest workflow of `pipeline` on `experiment`, or `None` when there is none.
async fn latest_workflow(
    client: &XnatClient,
    pipeline: &str,
    experiment: &str,
) -> Result<Option<Job>> {
    let path = format!("/data/services/workflows/{}", seg(pipeline)?);
    match client
        .get_json(&path, &[("experiment", experiment), ("display", "LATEST")])
        .await
    {
        Ok(doc) => Ok(Some(job_from_fields(&item_fields(&doc, &path)?))),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Launch `pipeline` on the experiment (`project` is the experiment's project) with `params`
/// in the query, then find the workflow the launch created. XNAT answers the launch with an
/// empty 200 whatever happened, so "no new workflow" is how a failed launch shows.
pub async fn run(
    client: &XnatClient,
    project: &str,
    experiment: &str,
    pipeline: &str,
    params: &[(String, String)],
) -> Result<RunResult> {
    let before = latest_workflow(client, pipeline, experiment)
        .await?
        .and_then(|j| j.id);
    let path = format!(
        "/data/projects/{}/pipelines/{}/experiments/{}",
        seg(project)?,
        seg(pipeline)?,
        seg(experiment)?
    );
    client
        .request(Method::POST, &path)
        .query_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .send()
        .await?;
    let job = latest_workflow(client, pipeline, experiment)
        .await?
        .filter(|j| j.id.is_some() && j.id != before)
        .ok_or_else(|| {
            Error::Operation(format!(
                "XNAT accepted the launch of {pipeline} on {experiment} but recorded no job (is {pipeline} a pipeline of project {project}? see 'xnatctl pipeline list -P {project}')"
            ))
        })?;
    Ok(RunResult {
        success: true,
        pipeline: pipeline.to_string(),
        experiment: experiment.to_string(),
        job_id: job.id,
        result: job,
        final_status: None,
    })
}

/// Filters of `pipeline jobs`.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only this experiment (accession id).
    pub experiment: Option<String>,
    /// Only this project.
    pub project: Option<String>,
    /// Only this status.
    pub status: Option<String>,
}

/// `GET /data/services/workflows?format=json[&project=P][&status=S]`, each row's workflow id
/// looked up (the listing lacks it).
pub async fn jobs(client: &XnatClient, filter: &JobFilter) -> Result<Vec<Job>> {
    if let Some(s) = &filter.status {
        if s.trim().is_empty() {
            return Err(Error::usage("--status cannot be empty"));
        }
    }
    let mut query: Vec<(&str, &str)> = vec![("display", "ALL")];
    if let Some(p) = &filter.project {
        crate::core::validation::validate_project_id(p)?;
        query.push(("project", p));
    }
    if let Some(s) = &filter.status {
        query.push(("status", s));
    }
    let rows = client.list_rows("/data/services/workflows", &query).await?;
    let mut out = Vec::new();
    for r in rows {
        let experiment = text(&r, "id").unwrap_or_default();
        if filter
            .experiment
            .as_deref()
            .is_some_and(|e| e != experiment)
        {
            continue;
        }
        let mut job = Job {
            id: None,
            pipeline: text(&r, "pipeline_name").unwrap_or_default(),
            experiment,
            project: text(&r, "externalid").unwrap_or_default(),
            status: text(&r, "status").unwrap_or_default(),
            message: None,
            percent_complete: None,
            start_time: text(&r, "launch_time"),
            end_time: None,
        };
        if let Some(t) = job.start_time.clone() {
            let found = client
                .get_json(
                    "/data/workflows",
                    &[
                        ("wrk:workflowData/ID", job.experiment.as_str()),
                        ("wrk:workflowData/pipeline_name", job.pipeline.as_str()),
                        ("wrk:workflowData/launch_time", t.as_str()),
                    ],
                )
                .await;
            match found {
                Ok(doc) => job = job_from_fields(&item_fields(&doc, "/data/workflows")?),
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        out.push(job);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_statuses_are_compared_capitalised() {
        for s in ["Complete", "FAILED", "error", "Killed"] {
            assert!(is_terminal(s), "{s}");
        }
        for s in ["Queued", "Running", "AWAITING ACTION", ""] {
            assert!(!is_terminal(s), "{s}");
        }
        assert!(is_failure("failed") && is_failure("Error") && !is_failure("Killed"));
    }

    #[test]
    fn a_job_ends_only_once_terminal() {
        let f: Map<String, Value> = serde_json::from_str(
            r#"{"wrk_workflowData_id": 7, "ID": "E1", "ExternalID": "P", "pipeline_name": "N",
                "status": "Running", "step_description": "step 1 of 2",
                "launch_time": "t0", "current_step_launch_time": "t1"}"#,
        )
        .unwrap();
        let j = job_from_fields(&f);
        assert_eq!((j.id, j.end_time.as_deref()), (Some(7), None));
        assert_eq!(j.message.as_deref(), Some("step 1 of 2"));
        let mut f = f;
        f.insert("status".into(), Value::from("Complete"));
        f.insert("step_description".into(), Value::from("Complete"));
        let j = job_from_fields(&f);
        assert_eq!((j.end_time.as_deref(), j.message), (Some("t1"), None));
    }

    #[test]
    fn job_ids_are_workflow_numbers() {
        assert!(workflow_path("12").is_ok());
        for bad in ["", "JOB123", "1/2", "../x"] {
            assert!(workflow_path(bad).is_err(), "{bad}");
        }
    }
}
