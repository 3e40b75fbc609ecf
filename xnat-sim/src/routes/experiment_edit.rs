//! Experiment create / modify / rename / delete (fidelity spec §7.4, §11).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::access;
use crate::envelope::{ok_empty, restlet_error, text};
use crate::params::{Caller, Params};
use crate::routes::common::{
    custom_field_name, experiment_not_found, readable_project, resolve_experiment_in_project,
    resolve_experiment_in_subject, stored_field, strip_type, subject_not_found, ExperimentRef,
};
use crate::routes::experiments::SHORTCUTS;
use crate::routes::subjects::create_subject;
use crate::state::{now_millis, now_timestamp, Experiment, HistoryEvent, State as SimState};
use crate::xml;
use crate::AppState;

/// Default type for a new experiment PUT without `xsiType` (a real server needs it; see README).
pub const DEFAULT_XSI_TYPE: &str = "xnat:mrSessionData";

fn collect_params(q: Params, headers: &HeaderMap, body: &[u8]) -> Result<Params, Response> {
    let mut params = q;
    params.merge_form(headers, body);
    let raw = String::from_utf8_lossy(body);
    if raw.trim_start().starts_with('<') {
        let doc = xml::parse(raw.trim()).map_err(|e| {
            restlet_error(
                StatusCode::BAD_REQUEST,
                &format!("Unable to parse XML: {e}"),
            )
        })?;
        let xsi = doc.attr("type").map(str::to_string).unwrap_or_else(|| {
            format!(
                "xnat:{}{}Data",
                doc.name[..1].to_ascii_lowercase(),
                &doc.name[1..]
            )
        });
        params.0.insert(0, ("xsiType".into(), xsi));
        for a in ["label", "ID"] {
            if let Some(v) = doc.attr(a) {
                params.0.push((a.to_string(), v.to_string()));
            }
        }
        for c in &doc.children {
            if c.children.is_empty() && !c.text.trim().is_empty() {
                params.0.push((c.name.clone(), c.text.trim().to_string()));
            }
        }
    }
    Ok(params)
}

/// `MM/DD/YYYY` or `YYYY-MM-DD` → `YYYY-MM-DD`.
fn normalize_date(v: &str) -> String {
    let parts: Vec<&str> = v.split('/').collect();
    if parts.len() == 3 {
        if let (Ok(m), Ok(d), Ok(y)) = (
            parts[0].parse::<u32>(),
            parts[1].parse::<u32>(),
            parts[2].parse::<u32>(),
        ) {
            return format!("{y:04}-{m:02}-{d:02}");
        }
    }
    v.to_string()
}

pub fn record_event(st: &mut SimState, eid: &str, action: &str, user: &str) {
    let event_id = st.next_event_id();
    if let Some(e) = st.experiments.get_mut(eid) {
        e.history.push(HistoryEvent {
            event_id,
            event_action: action.to_string(),
            event_date: now_millis(),
            event_user: user.to_string(),
            event_type: "WEB_SERVICE".into(),
            event_reason: String::new(),
            event_category: "MODIFY".into(),
            event_status: "Complete".into(),
        });
    }
}

/// Apply query modifications to experiment `id`.
fn modify(st: &mut SimState, caller: &Caller, id: &str, params: &Params) -> Result<(), Response> {
    let project = st.experiments[id].project.clone();
    let mut renamed = false;
    for (k, v) in params.iter() {
        let key = strip_type(k);
        if let Some(name) = custom_field_name(k) {
            if let Some((name, v)) = stored_field(name, v) {
                let e = st.experiments.get_mut(id).expect("present");
                e.fields.insert(name, v.to_string());
            }
            continue;
        }
        match key {
            "label" => {
                if v == st.experiments[id].label {
                    continue;
                }
                if st.experiment_label_taken(&project, v, id) {
                    return Err(restlet_error(
                        StatusCode::CONFLICT,
                        "Specified label is already in use.",
                    ));
                }
                st.experiments.get_mut(id).expect("present").label = v.to_string();
                renamed = true;
            }
            "project" => {
                let same = st
                    .project_by_id_or_alias(v)
                    .is_some_and(|p| p.id == project);
                if !same {
                    return Err(restlet_error(
                        StatusCode::CONFLICT,
                        "Project must be modified through separate URI.",
                    ));
                }
            }
            "ID" if v != id => {
                return Err(restlet_error(
                    StatusCode::BAD_REQUEST,
                    "ID cannot be modified",
                ));
            }
            "xsiType" => {
                if !v.eq_ignore_ascii_case(&st.experiments[id].xsi_type) {
                    return Err(restlet_error(
                        StatusCode::CONFLICT,
                        "Specified xsiType differs from existing xsiType",
                    ));
                }
            }
            "subject_ID" => {
                let sid = match st
                    .subjects
                    .get(v)
                    .or_else(|| st.subject_by_label(&project, v))
                {
                    Some(s) => s.id.clone(),
                    None => create_subject(st, &project, v, caller.name()),
                };
                st.experiments.get_mut(id).expect("present").subject_id = sid;
            }
            "date" => st.experiments.get_mut(id).expect("present").date = Some(normalize_date(v)),
            "time" => st.experiments.get_mut(id).expect("present").time = Some(v.to_string()),
            "modality" => {
                st.experiments.get_mut(id).expect("present").modality = Some(v.to_string())
            }
            _ => {
                let read_only = matches!(
                    key,
                    "ID" | "subject_label"
                        | "subject_project"
                        | "insert_date"
                        | "insert_user"
                        | "last_modified"
                        | "insert_time"
                );
                if let Some(canon) = SHORTCUTS.iter().find(|s| s.eq_ignore_ascii_case(key)) {
                    if !read_only {
                        st.experiments
                            .get_mut(id)
                            .expect("present")
                            .attrs
                            .insert(canon.to_string(), v.to_string());
                    }
                }
            }
        }
    }
    if renamed {
        record_event(st, id, "Renamed", caller.name());
    }
    Ok(())
}

/// Create experiment `label` under subject `subject` (label or ID; auto-created) in `pid`.
fn create(
    st: &mut SimState,
    caller: &Caller,
    pid: &str,
    subject: &str,
    label: &str,
    xsi_type: &str,
) -> String {
    let sid = match st
        .subject_by_label(pid, subject)
        .or_else(|| st.subjects.get(subject).filter(|s| s.project == pid))
    {
        Some(s) => s.id.clone(),
        None => create_subject(st, pid, subject, caller.name()),
    };
    let id = st.next_experiment_id();
    let modality = crate::routes::scans::modality_of(xsi_type);
    st.experiments.insert(
        id.clone(),
        Experiment {
            id: id.clone(),
            project: pid.to_string(),
            subject_id: sid,
            label: label.to_string(),
            xsi_type: xsi_type.to_string(),
            date: None,
            time: None,
            modality,
            insert_date: now_timestamp(),
            last_modified: now_timestamp(),
            insert_user: caller.name().to_string(),
            attrs: Default::default(),
            fields: Default::default(),
            shares: Default::default(),
            history: Vec::new(),
            scans: Vec::new(),
            resources: Vec::new(),
        },
    );
    record_event(st, &id, "Added", caller.name());
    id
}

/// PUT on an experiment URL (any of its three forms).
fn upsert(app: &AppState, caller: &Caller, at: &ExperimentRef, params: &Params) -> Response {
    let (subject, key) = (at.subject.as_deref(), at.experiment.as_str());
    let mut st = app.write();
    let pid = match at.project() {
        Some(p) => match readable_project(&st, caller, p) {
            Ok(p) => Some(p),
            Err(r) => return r,
        },
        None => None,
    };
    let existing = match (&pid, subject) {
        (None, _) => st.experiments.get(key),
        (Some(p), None) => resolve_experiment_in_project(&st, p, key),
        (Some(p), Some(_)) => resolve_experiment_in_subject(&st, p, key),
    }
    .map(|e| e.id.clone());
    let (id, created) = match (existing, pid) {
        (Some(id), _) => {
            let e = &st.experiments[&id];
            if !access::can_read_experiment(&st, caller, e) {
                return experiment_not_found();
            }
            if !access::can_edit_experiment(&st, caller, e) {
                return restlet_error(StatusCode::FORBIDDEN, "");
            }
            (id, false)
        }
        (None, None) => return experiment_not_found(),
        (None, Some(pid)) => {
            if !access::can_edit(caller, &st.projects[&pid]) {
                return restlet_error(StatusCode::FORBIDDEN, "");
            }
            let subject = match subject.or_else(|| params.get("subject_ID")) {
                Some(s) => s.to_string(),
                None => {
                    return restlet_error(
                        StatusCode::BAD_REQUEST,
                        "Unable to identify the subject for the new experiment.",
                    )
                }
            };
            let xsi = params
                .get_ci("xsiType")
                .unwrap_or(DEFAULT_XSI_TYPE)
                .to_string();
            let label = params.get("label").unwrap_or(key).to_string();
            (create(&mut st, caller, &pid, &subject, &label, &xsi), true)
        }
    };
    let mut params = params.clone();
    if created {
        params.0.retain(|(k, _)| k != "subject_ID");
    }
    if let Err(r) = modify(&mut st, caller, &id, &params) {
        return r;
    }
    text(
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        id,
    )
}

/// `PUT` on `/data[/projects/{P}[/subjects/{S}]]/experiments/{E}`: create or modify.
pub async fn put(
    State(app): State<AppState>,
    caller: Caller,
    experiment: ExperimentRef,
    headers: HeaderMap,
    q: Params,
    body: Bytes,
) -> Response {
    match collect_params(q, &headers, &body) {
        Ok(p) => upsert(&app, &caller, &experiment, &p),
        Err(r) => r,
    }
}

/// Delete via the owning project, or only remove the share via a project it is shared into.
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    experiment: ExperimentRef,
    q: Params,
) -> Response {
    let (project, key) = (experiment.project(), experiment.experiment.as_str());
    let mut st = app.write();
    let id = match experiment.resolve(&st, &caller) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let via = project
        .and_then(|p| st.project_by_id_or_alias(p))
        .map(|p| p.id.clone())
        .unwrap_or_else(|| st.experiments[&id].project.clone());
    let Some(p) = st.projects.get(&via) else {
        return subject_not_found(project, key);
    };
    if !access::can_delete(&caller, p) {
        return restlet_error(StatusCode::FORBIDDEN, "");
    }
    if st.experiments[&id].project != via {
        st.experiments
            .get_mut(&id)
            .expect("present")
            .shares
            .remove(&via);
        return ok_empty();
    }
    let e = st.experiments.remove(&id).expect("present");
    drop(st);
    if q.flag("removeFiles") {
        crate::routes::remove_paths(&crate::routes::experiment_disk_paths(&e));
    }
    ok_empty()
}
