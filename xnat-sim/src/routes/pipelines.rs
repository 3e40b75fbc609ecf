//! The legacy pipeline engine's REST surface (xnat-web): the pipeline lists, launching a pipeline
//! on an experiment, and the workflows (`wrk:workflowData`) that record each launch.
//!
//! * `GET /data/projects/{P}/pipelines` (`ProjectPipelineListResource`): ResultSet with
//!   `PipelineRepositoryManager.toTable`'s columns `Applies To, Generates, Name, Description, Path,
//!   Datatype`; owners and admins only (`Permissions.canDelete`, 403 otherwise).
//! * `GET /xapi/pipelines/site` (`PipelineApi.getSitePipelines`): the same table for the site.
//! * `POST /data/projects/{P}/pipelines/{STEP}/experiments/{E}` (`ProjtExptPipelineResource`):
//!   query parameters become the pipeline's parameters; 200 with an empty body whether or not the
//!   launch worked (an unknown pipeline creates no workflow, as `PipelineLaunchHandler` only logs).
//!   Unknown experiment → 400 (the resource needs project, step and experiment); no edit right →
//!   403.
//! * `GET /data/workflows/{ID}` (`WorkflowResource`): the workflow item; 404 "Unable to find the
//!   specified workflow."; `GET /data/workflows?wrk:workflowData/ID=E&...pipeline_name=N&...
//!   launch_time=T` looks one up by those three. `PUT /data/workflows/{ID}?wrk:workflowData/
//!   status=S` sets its status (its launcher or an admin; 403 otherwise).
//! * `GET /data/services/workflows[/{PIPELINE}]` (`WorkflowsRestlet`): with a pipeline and
//!   `experiment`, the latest such workflow as an item; otherwise a table of the latest workflow
//!   of each experiment (`project`, `status` filter), with the columns its SQL selects (`label`,
//!   `id`, `externalid`, `pipeline_name`, `launch_time`, `jobid`, `status`,
//!   `current_step_launch_time`, `current_step_id`), which carry no workflow id.
//! * `POST /__sim/pipelines/plan?step_ms=N&steps=N&outcome=complete|failed|hang`: how workflows
//!   launched from now on progress (test control).

use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::access;
use crate::envelope::{items_response, restlet_error, row, text, ItemNode, ResultSet};
use crate::params::{Caller, Params};
use crate::state::pipelines::{JobOutcome, JobPlan, Workflow, CATALOG};
use crate::state::State as SimState;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/data/projects/{project}/pipelines", get(project_pipelines))
        .route("/xapi/pipelines/site", get(site_pipelines))
        .route(
            "/data/projects/{project}/pipelines/{step}/experiments/{experiment}",
            post(launch),
        )
        .route("/data/workflows", get(find_workflow))
        .route("/data/workflows/{workflow}", get(one).put(update))
        .route("/data/services/workflows", get(workflows))
        .route(
            "/data/services/workflows/{pipeline}",
            get(pipeline_workflows),
        )
        .route("/__sim/pipelines/plan", post(set_plan))
}

fn catalog_table() -> ResultSet {
    let rows = CATALOG
        .iter()
        .map(|p| {
            row([
                ("Applies To", "Project"),
                ("Generates", p.generates),
                ("Name", p.name),
                ("Description", p.description),
                ("Path", p.path),
                ("Datatype", p.datatype),
            ])
        })
        .collect();
    ResultSet::new(rows).meta("title", "Pipelines")
}

async fn project_pipelines(
    State(app): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    q: Params,
) -> Response {
    let st = app.read();
    match st.project_by_id_or_alias(&project) {
        Some(p) if access::can_delete(&caller, p) => catalog_table().respond(q.format().as_deref()),
        Some(p) if access::can_see_project(&caller, p) => restlet_error(StatusCode::FORBIDDEN, ""),
        _ => super::common::project_not_found(&project),
    }
}

async fn site_pipelines(caller: Caller) -> Response {
    if caller.username.is_none() {
        return crate::envelope::xapi_error(StatusCode::UNAUTHORIZED, "");
    }
    catalog_table().respond(Some("json"))
}

async fn launch(
    State(app): State<AppState>,
    caller: Caller,
    Path((project, step, experiment)): Path<(String, String, String)>,
    q: Params,
) -> Response {
    let mut st = app.write();
    let Some(p) = st.project_by_id_or_alias(&project).cloned() else {
        return restlet_error(StatusCode::GONE, "");
    };
    if !access::can_see_project(&caller, &p) {
        return restlet_error(StatusCode::GONE, "");
    }
    let Some(e) = super::common::resolve_experiment_in_project(&st, &p.id, &experiment).cloned()
    else {
        return restlet_error(StatusCode::BAD_REQUEST, "");
    };
    if !access::can_edit_experiment(&st, &caller, &e) {
        return restlet_error(StatusCode::FORBIDDEN, "");
    }
    // PipelineLaunchHandler logs a failed launch and the resource still answers 200.
    if !CATALOG.iter().any(|d| d.name == step) {
        return text(StatusCode::OK, "");
    }
    let params = q
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("format"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let engine = &mut st.pipelines;
    engine.next_id += 1;
    let id = engine.next_id;
    let now = chrono::Local::now();
    let wf = Workflow {
        id,
        experiment: e.id.clone(),
        project: e.project.clone(),
        data_type: e.xsi_type.clone(),
        pipeline_name: step.clone(),
        launch_time: now.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        launched: Instant::now(),
        launched_wall: now,
        user: caller.name().to_string(),
        params,
        plan: engine.plan,
        set_status: None,
    };
    engine.workflows.insert(id, wf);
    text(StatusCode::OK, "")
}

fn workflow_item(wf: &Workflow, now: Instant) -> ItemNode {
    let (status, step, pct, description) = wf.state(now);
    ItemNode::new("wrk:workflowData")
        .field("wrk_workflowData_id", wf.id)
        .field("ID", wf.experiment.as_str())
        .field("ExternalID", wf.project.as_str())
        .field("data_type", wf.data_type.as_str())
        .field("pipeline_name", wf.pipeline_name.as_str())
        .field("launch_time", wf.launch_time.as_str())
        .field("status", status.as_str())
        .field("current_step_id", step.to_string())
        .field("current_step_launch_time", wf.step_time(now))
        .field("step_description", description.as_str())
        .field("percentageComplete", pct.to_string())
        .field("category", "PIPELINE")
        .field("type", "PROCESS")
}

fn readable(st: &SimState, caller: &Caller, wf: &Workflow) -> bool {
    st.experiments
        .get(&wf.experiment)
        .is_some_and(|e| access::can_read_experiment(st, caller, e))
}

fn label_of(st: &SimState, wf: &Workflow) -> String {
    st.experiments
        .get(&wf.experiment)
        .map(|e| e.label.clone())
        .unwrap_or_default()
}

fn no_workflow() -> Response {
    restlet_error(
        StatusCode::NOT_FOUND,
        "Unable to find the specified workflow.",
    )
}

fn respond_item(st: &SimState, caller: &Caller, wf: Option<&Workflow>) -> Response {
    match wf.filter(|wf| readable(st, caller, wf)) {
        Some(wf) => items_response(&workflow_item(wf, Instant::now())),
        None => no_workflow(),
    }
}

async fn one(
    State(app): State<AppState>,
    caller: Caller,
    Path(workflow): Path<String>,
) -> Response {
    let st = app.read();
    let wf = workflow
        .parse::<u64>()
        .ok()
        .and_then(|id| st.pipelines.workflows.get(&id));
    respond_item(&st, &caller, wf)
}

/// `wrk:workflowData/<field>` (any case) from the query.
fn wrk_param<'a>(q: &'a Params, field: &str) -> Option<&'a str> {
    q.iter().find_map(|(k, v)| {
        let (head, tail) = k.split_once('/')?;
        (head.eq_ignore_ascii_case("wrk:workflowData") && tail.eq_ignore_ascii_case(field))
            .then_some(v)
    })
}

async fn find_workflow(State(app): State<AppState>, caller: Caller, q: Params) -> Response {
    let st = app.read();
    let (Some(id), Some(name), Some(time)) = (
        wrk_param(&q, "ID"),
        wrk_param(&q, "pipeline_name"),
        wrk_param(&q, "launch_time"),
    ) else {
        return no_workflow();
    };
    let wf = st
        .pipelines
        .workflows
        .values()
        .find(|w| w.experiment == id && w.pipeline_name == name && w.launch_time == time);
    respond_item(&st, &caller, wf)
}

async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(workflow): Path<String>,
    q: Params,
) -> Response {
    let mut st = app.write();
    let Some(id) = workflow.parse::<u64>().ok() else {
        return no_workflow();
    };
    let Some(wf) = st.pipelines.workflows.get(&id).cloned() else {
        return no_workflow();
    };
    if !readable(&st, &caller, &wf) {
        return no_workflow();
    }
    if wf.user != caller.name() && !caller.admin {
        return restlet_error(
            StatusCode::FORBIDDEN,
            "You are not allowed to make changes to this workflow.",
        );
    }
    if let Some(status) = wrk_param(&q, "status") {
        let by = caller.name().to_string();
        if let Some(w) = st.pipelines.workflows.get_mut(&id) {
            w.set_status = Some((status.to_string(), Instant::now(), by));
        }
    }
    text(StatusCode::OK, "")
}

/// `WorkflowsRestlet` without an experiment: the latest workflow of each experiment.
async fn workflows(State(app): State<AppState>, caller: Caller, q: Params) -> Response {
    table(&app, &caller, &q, None)
}

async fn pipeline_workflows(
    State(app): State<AppState>,
    caller: Caller,
    Path(pipeline): Path<String>,
    q: Params,
) -> Response {
    let Some(experiment) = q.get("experiment").map(str::to_string) else {
        return table(&app, &caller, &q, Some(&pipeline));
    };
    let st = app.read();
    let e = st.experiments.get(&experiment).or_else(|| {
        q.get("project")
            .and_then(|p| st.experiment_by_label(p, &experiment))
    });
    let Some(e) = e.filter(|e| access::can_read_experiment(&st, &caller, e)) else {
        return table(&app, &caller, &q, Some(&pipeline));
    };
    let needle = pipeline.to_lowercase();
    let latest = st
        .pipelines
        .workflows
        .values()
        .filter(|w| w.experiment == e.id && w.pipeline_name.to_lowercase().contains(&needle))
        .filter(|w| {
            q.get("status")
                .is_none_or(|s| w.state(Instant::now()).0 == s)
        })
        .max_by(|a, b| a.launch_time.cmp(&b.launch_time).then(a.id.cmp(&b.id)));
    match latest {
        Some(wf) => items_response(&workflow_item(wf, Instant::now())),
        None => restlet_error(
            StatusCode::NOT_FOUND,
            &format!(
                "Unable to find workflow entry for pipeline {pipeline} and experiment.{}",
                e.id
            ),
        ),
    }
}

fn table(app: &AppState, caller: &Caller, q: &Params, pipeline: Option<&str>) -> Response {
    let st = app.read();
    let now = Instant::now();
    let status = q.get("status");
    let project = q.get("project");
    let mut latest: std::collections::BTreeMap<&str, &Workflow> = Default::default();
    for w in st.pipelines.workflows.values() {
        if pipeline.is_some_and(|p| !w.pipeline_name.contains(p)) || !readable(&st, caller, w) {
            continue;
        }
        let newer = latest
            .get(w.experiment.as_str())
            .is_none_or(|l| (l.launch_time.as_str(), l.id) < (w.launch_time.as_str(), w.id));
        if newer {
            latest.insert(&w.experiment, w);
        }
    }
    let rows = latest
        .values()
        .map(|w| (w, w.state(now)))
        .filter(|(_, s)| status.is_none_or(|want| s.0 == want))
        .filter(|(w, _)| project.is_none_or(|p| w.project == p))
        .map(|(w, s)| {
            row([
                ("label", label_of(&st, w)),
                ("id", w.experiment.clone()),
                ("externalid", w.project.clone()),
                ("pipeline_name", w.pipeline_name.clone()),
                ("launch_time", w.launch_time.clone()),
                ("jobid", String::new()),
                ("status", s.0.clone()),
                ("current_step_launch_time", w.step_time(now)),
                ("current_step_id", s.1.to_string()),
            ])
        })
        .collect();
    let title = format!("All {} workflows", status.unwrap_or("null"));
    ResultSet::new(rows)
        .meta("title", title)
        .respond(q.format().as_deref())
}

async fn set_plan(State(app): State<AppState>, q: Params) -> Response {
    let mut plan = JobPlan::default();
    if let Some(ms) = q.get("step_ms").and_then(|v| v.parse().ok()) {
        plan.step = Duration::from_millis(ms);
    }
    if let Some(n) = q.get("steps").and_then(|v| v.parse().ok()) {
        plan.steps = n;
    }
    plan.outcome = match q.get("outcome") {
        Some("failed") => JobOutcome::Failed,
        Some("hang") => JobOutcome::Hang,
        _ => JobOutcome::Complete,
    };
    app.write().pipelines.plan = plan;
    text(StatusCode::OK, "")
}
