//! Helpers shared by the subject, experiment and scan routers: identifier resolution (fidelity
//! spec §7.2), custom-field parameters, and the 404 messages real servers send.

use axum::http::StatusCode;
use axum::response::Response;

use crate::access;
use crate::envelope::restlet_error;
use crate::params::Caller;
use crate::state::{Experiment, State, Subject};

/// Name `K` of a custom-field parameter `<type>/fields/field[name=K]/field`.
pub fn custom_field_name(key: &str) -> Option<&str> {
    let start = key.find("/fields/field[name=")? + "/fields/field[name=".len();
    let rest = &key[start..];
    let end = rest.find(']')?;
    rest[end..]
        .eq_ignore_ascii_case("]/field")
        .then_some(&rest[..end])
}

/// Strip an `xnat:someType/` prefix from a parameter key.
pub fn strip_type(key: &str) -> &str {
    match key.split_once('/') {
        Some((head, tail)) if head.contains(':') => tail,
        _ => key,
    }
}

pub fn project_not_found(project: &str) -> Response {
    restlet_error(
        StatusCode::NOT_FOUND,
        &format!("Unable to identify project: {project}"),
    )
}

/// The project from the URL, which must be visible and readable.
pub fn readable_project(st: &State, caller: &Caller, project: &str) -> Result<String, Response> {
    match st.project_by_id_or_alias(project) {
        Some(p) if access::can_read(caller, p) => Ok(p.id.clone()),
        Some(p) if access::can_see_project(caller, p) => Err(restlet_error(
            StatusCode::FORBIDDEN,
            &format!("Unable to read subjects for Project: {}", p.id),
        )),
        _ => Err(project_not_found(project)),
    }
}

/// `/data/projects/{P}/subjects/{S}`: accession ID first (globally), then label or share label in P.
pub fn resolve_subject<'a>(st: &'a State, project: &str, key: &str) -> Option<&'a Subject> {
    st.subjects
        .get(key)
        .or_else(|| st.subject_by_label(project, key))
}

pub fn subject_not_found(project: Option<&str>, key: &str) -> Response {
    let msg = match project {
        Some(p) => format!("The project {p} does not contain a subject identifiable by the ID or label {key}."),
        None => format!("Unable to find subject {key}: you must specify the accession number and not the subject label, or specify the project."),
    };
    restlet_error(StatusCode::NOT_FOUND, &msg)
}

pub fn experiment_not_found() -> Response {
    restlet_error(
        StatusCode::NOT_FOUND,
        "Unable to find the specified experiment.",
    )
}

/// `/data/projects/{P}/experiments/{X}`: accession ID globally first, then label in P.
pub fn resolve_experiment_in_project<'a>(
    st: &'a State,
    project: &str,
    key: &str,
) -> Option<&'a Experiment> {
    st.experiments
        .get(key)
        .or_else(|| st.experiment_by_label(project, key))
}

/// `/data/projects/{P}/subjects/{S}/experiments/{X}`: label in P first, then an ID in P (own or shared).
pub fn resolve_experiment_in_subject<'a>(
    st: &'a State,
    project: &str,
    key: &str,
) -> Option<&'a Experiment> {
    st.experiment_by_label(project, key).or_else(|| {
        st.experiments
            .get(key)
            .filter(|e| e.project == project || e.shares.contains_key(project))
    })
}

/// The experiment a scan URL points at: `(project, subject, experiment)` path parts.
pub fn resolve_experiment_path(
    st: &State,
    caller: &Caller,
    project: Option<&str>,
    subject: Option<&str>,
    key: &str,
) -> Result<String, Response> {
    let e = match (project, subject) {
        (None, _) => st.experiments.get(key),
        (Some(p), None) => {
            let pid = readable_project(st, caller, p)?;
            resolve_experiment_in_project(st, &pid, key)
        }
        (Some(p), Some(s)) => {
            let pid = readable_project(st, caller, p)?;
            if resolve_subject(st, &pid, s).is_none() {
                return Err(subject_not_found(Some(&pid), s));
            }
            resolve_experiment_in_subject(st, &pid, key)
        }
    };
    match e {
        Some(e) if access::can_read_experiment(st, caller, e) => Ok(e.id.clone()),
        _ => Err(experiment_not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_field_keys() {
        assert_eq!(
            custom_field_name("xnat:subjectData/fields/field[name=age_group]/field"),
            Some("age_group")
        );
        assert_eq!(custom_field_name("xnat:subjectData/fields/field"), None);
        assert_eq!(strip_type("xnat:mrSessionData/date"), "date");
        assert_eq!(strip_type("date"), "date");
    }
}
