//! Helpers shared by the subject, experiment and scan routers: identifier resolution (fidelity
//! spec §7.2), custom-field parameters, and the 404 messages real servers send.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

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

/// How XNAT stores one legacy custom field (`fields/field[name=N]/field=V`), or `None` when it
/// silently keeps the old value:
/// * the name is stored lower-cased, whatever case the request used (XNAT's custom-forms
///   migration, `MigrationDataReviewer#setFieldNames`: "XNAT will save the field names in lower
///   case even if the definition has them in mixed case");
/// * the value is stored as text whatever the project's variable set says its type is (the same
///   reviewer exists to find integers holding floats, booleans holding other words, dates not in
///   MM/DD/YYYY: nothing on the REST path validates them);
/// * an empty value does not clear the field: XFT populates no child item from an empty value,
///   so the PUT answers 200 and the old value stays. This one is **UNCONFIRMED** against a live
///   server; it is the behaviour clients report (variables cannot be deleted over REST, see
///   fastr's `CustomVariableMap.__delitem__`), and the one a spreadsheet round-trip must catch.
pub fn stored_field<'v>(name: &str, value: &'v str) -> Option<(String, &'v str)> {
    if value.is_empty() {
        return None;
    }
    Some((name.to_lowercase(), value))
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

/// The named path parameters of a request (empty when the route has none).
async fn path_params<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<HashMap<String, String>, Response> {
    Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map(|Path(m)| m)
        .map_err(IntoResponse::into_response)
}

/// A path parameter every route using the extractor has; its absence is a routing bug.
fn required(params: &mut HashMap<String, String>, name: &str) -> Result<String, Response> {
    params.remove(name).ok_or_else(|| {
        restlet_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("route has no {{{name}}} parameter"),
        )
    })
}

/// The subject a URL names: `/data/subjects/{subject}` or
/// `/data/projects/{project}/subjects/{subject}` (further parameters are ignored).
#[derive(Debug, Clone)]
pub struct SubjectRef {
    pub project: Option<String>,
    pub subject: String,
}

impl SubjectRef {
    /// `(project, subject ID)` of a readable subject: the URL's project (resolved), or the
    /// owner's for the flat form. Flat URLs take accession IDs only.
    pub fn resolve(&self, st: &State, caller: &Caller) -> Result<(String, String), Response> {
        match &self.project {
            Some(project) => {
                let pid = readable_project(st, caller, project)?;
                match resolve_subject(st, &pid, &self.subject) {
                    Some(s) if access::can_read_subject(st, caller, s) => Ok((pid, s.id.clone())),
                    _ => Err(subject_not_found(Some(&pid), &self.subject)),
                }
            }
            None => match st.subjects.get(&self.subject) {
                Some(s) if access::can_read_subject(st, caller, s) => {
                    Ok((s.project.clone(), s.id.clone()))
                }
                _ => Err(subject_not_found(None, &self.subject)),
            },
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SubjectRef {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let mut params = path_params(parts, state).await?;
        Ok(SubjectRef {
            subject: required(&mut params, "subject")?,
            project: params.remove("project"),
        })
    }
}

/// The experiment a URL names: `/data/experiments/{experiment}`,
/// `/data/projects/{project}/experiments/{experiment}` or
/// `/data/projects/{project}/subjects/{subject}/experiments/{experiment}` (further parameters,
/// such as `{scan}`, are ignored).
#[derive(Debug, Clone)]
pub struct ExperimentRef {
    pub project: Option<String>,
    pub subject: Option<String>,
    pub experiment: String,
}

impl ExperimentRef {
    pub fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }

    /// The ID of the readable experiment this URL names (see [`resolve_experiment_path`]).
    pub fn resolve(&self, st: &State, caller: &Caller) -> Result<String, Response> {
        resolve_experiment_path(
            st,
            caller,
            self.project.as_deref(),
            self.subject.as_deref(),
            &self.experiment,
        )
    }

    fn take(params: &mut HashMap<String, String>) -> Result<Self, Response> {
        Ok(ExperimentRef {
            experiment: required(params, "experiment")?,
            project: params.remove("project"),
            subject: params.remove("subject"),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ExperimentRef {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        ExperimentRef::take(&mut path_params(parts, state).await?)
    }
}

/// A scan URL: the experiment part as [`ExperimentRef`] plus `{scan}`.
#[derive(Debug, Clone)]
pub struct ScanRef {
    pub experiment: ExperimentRef,
    pub scan: String,
}

impl<S: Send + Sync> FromRequestParts<S> for ScanRef {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let mut params = path_params(parts, state).await?;
        Ok(ScanRef {
            scan: required(&mut params, "scan")?,
            experiment: ExperimentRef::take(&mut params)?,
        })
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

    /// Every URL form of a subject, experiment and scan reaches the same shared handler and
    /// resolves to the same object; the flat forms keep their own 404s.
    #[tokio::test]
    async fn path_refs_resolve_every_url_form() {
        use reqwest::StatusCode;

        let sim = crate::testutil::TestSim::demo().await;
        let (e, s, scan) = sim.handle.with_state(|st| {
            let e = st
                .experiments
                .values()
                .find(|e| !e.scans.is_empty())
                .expect("demo has an experiment with scans")
                .clone();
            let s = st.subjects[&e.subject_id].clone();
            let scan = e.scans[0].id.clone();
            (e, s, scan)
        });
        let p = &e.project;
        for path in [
            format!("/data/experiments/{}", e.id),
            format!("/data/projects/{p}/experiments/{}", e.label),
            format!(
                "/data/projects/{p}/subjects/{}/experiments/{}",
                s.label, e.label
            ),
        ] {
            let r = sim.get(&format!("{path}?format=json")).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            assert_eq!(
                r.json()["items"][0]["data_fields"]["ID"],
                e.id.as_str(),
                "{path}"
            );
            let r = sim.get(&format!("{path}/scans/{scan}")).await;
            let want = if path.contains("/subjects/") || path.starts_with("/data/experiments") {
                "xnat_imagescandata_id"
            } else {
                // The project-scoped scan URL answers with the parent experiment.
                "subject_ID"
            };
            assert_eq!(r.status, StatusCode::OK, "{path}/scans/{scan}");
            assert!(r.body.contains(want), "{path}/scans/{scan}: {}", r.body);
        }
        for path in [
            format!("/data/subjects/{}", s.id),
            format!("/data/projects/{p}/subjects/{}", s.label),
        ] {
            let r = sim.get(&format!("{path}?format=json")).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            assert_eq!(
                r.json()["items"][0]["data_fields"]["ID"],
                s.id.as_str(),
                "{path}"
            );
        }
        // Flat subject URLs take accession IDs only, for reads and writes alike.
        let label = format!("/data/subjects/{}", s.label);
        let r = sim.get(&label).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(r.body.contains("you must specify the accession number"));
        assert_eq!(sim.put(&label).await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            sim.put("/data/experiments/NOPE").await.status,
            StatusCode::NOT_FOUND
        );
    }
}
