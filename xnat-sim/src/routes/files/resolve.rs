//! Request paths to resource owners: path parsing, parent resolution and access checks.

use axum::http::StatusCode;
use axum::response::Response;
use percent_encoding::percent_decode_str;

use crate::access;
use crate::envelope::restlet_error;
use crate::params::Caller;
use crate::routes::common;
use crate::state::{Resource, State as SimState};

/// Which object owns a resource list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Project(String),
    Subject(String),
    Experiment(String),
    Scan(String, String),
}

pub fn resources<'a>(st: &'a SimState, t: &Target) -> Option<&'a Vec<Resource>> {
    match t {
        Target::Project(p) => st.projects.get(p).map(|p| &p.resources),
        Target::Subject(s) => st.subjects.get(s).map(|s| &s.resources),
        Target::Experiment(e) => st.experiments.get(e).map(|e| &e.resources),
        Target::Scan(e, s) => st
            .experiments
            .get(e)
            .and_then(|e| e.scan(s))
            .map(|s| &s.resources),
    }
}

/// The resources of `t`, for a change: a session's (or its scans') resources changing moves
/// the session's `last_modified` (what `project pull` compares). On a real XNAT the session's
/// meta `last_modified` moves when the session item is saved, which file uploads through the
/// REST catalog services may not do (UNCONFIRMED); `project pull --rescan` covers that.
pub fn resources_mut<'a>(st: &'a mut SimState, t: &Target) -> Option<&'a mut Vec<Resource>> {
    match t {
        Target::Project(p) => st.projects.get_mut(p).map(|p| &mut p.resources),
        Target::Subject(s) => st.subjects.get_mut(s).map(|s| &mut s.resources),
        Target::Experiment(e) => st.experiments.get_mut(e).map(|e| {
            e.last_modified = crate::state::now_timestamp();
            &mut e.resources
        }),
        Target::Scan(e, s) => st
            .experiments
            .get_mut(e)
            .and_then(|e| {
                e.last_modified = crate::state::now_timestamp();
                e.scan_mut(s)
            })
            .map(|s| &mut s.resources),
    }
}

/// A resource by label, else by numeric ID.
pub fn find_resource<'a>(list: &'a [Resource], key: &str) -> Option<&'a Resource> {
    list.iter()
        .find(|r| r.label == key)
        .or_else(|| list.iter().find(|r| r.id.to_string() == key))
}

pub(super) fn find_resource_idx(list: &[Resource], key: &str) -> Option<usize> {
    list.iter()
        .position(|r| r.label == key)
        .or_else(|| list.iter().position(|r| r.id.to_string() == key))
}

/// The parent part of a request path (raw keys as they appear in the URL).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ParentPath {
    pub project: Option<String>,
    pub subject: Option<String>,
    pub experiment: Option<String>,
    pub scan: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    None,
    Resources,
    Resource(String),
    ResourceFiles(String),
    ResourceFile(String, String),
    Files,
}

/// Split `/data/...` into the parent and what follows it. Segments are percent-decoded.
pub fn parse_path(path: &str) -> Option<(ParentPath, Tail)> {
    let segs: Vec<String> = path
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let mut it = segs.iter().map(String::as_str).peekable();
    if it.next()? != "data" {
        return None;
    }
    let mut p = ParentPath::default();
    match it.next()? {
        "projects" => {
            p.project = Some(it.next()?.to_string());
            if it.peek() == Some(&"subjects") {
                it.next();
                p.subject = Some(it.next()?.to_string());
            }
            if it.peek() == Some(&"experiments") {
                it.next();
                p.experiment = Some(it.next()?.to_string());
            }
        }
        "subjects" => p.subject = Some(it.next()?.to_string()),
        "experiments" => p.experiment = Some(it.next()?.to_string()),
        _ => return None,
    }
    if p.experiment.is_some() && it.peek() == Some(&"scans") {
        it.next();
        p.scan = Some(it.next()?.to_string());
    }
    let rest: Vec<&str> = it.collect();
    let tail = match rest.as_slice() {
        [] => Tail::None,
        ["resources"] => Tail::Resources,
        ["resources", r] => Tail::Resource(r.to_string()),
        ["resources", r, "files"] => Tail::ResourceFiles(r.to_string()),
        ["resources", r, "files", file @ ..] => Tail::ResourceFile(r.to_string(), file.join("/")),
        ["files"] => Tail::Files,
        _ => return None,
    };
    Some((p, tail))
}

/// One level whose resources an operation touches.
#[derive(Debug, Clone)]
pub struct Scope {
    pub target: Target,
    /// `/data/experiments/XNAT_E00001/scans/1` etc. (accession IDs).
    pub uri_base: String,
    pub category: &'static str,
    pub cat_id: String,
    pub cat_desc: String,
    /// Archive directory before `resources/` (`MR1/scans/1-T1`).
    pub zip_dir: String,
    /// Archive directory in the `simplified` structure (`MR1/scans/1`).
    pub zip_dir_simple: String,
}

#[derive(Debug, Clone)]
pub struct Resolved {
    /// The addressed level first, then (for sessions) its scans.
    pub scopes: Vec<Scope>,
    /// How many leading scopes are the addressed level itself (several for `scans/1,2`).
    pub own: usize,
    pub project: String,
    /// Archive file name stem: session label, subject label or project ID.
    pub archive_name: String,
}

/// Non-word characters of a scan type become `_` in archive directory names.
pub fn sanitize_type(t: &str) -> String {
    t.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn resolve(st: &SimState, caller: &Caller, p: &ParentPath) -> Result<Resolved, Response> {
    if let Some(ekey) = &p.experiment {
        let eid = common::resolve_experiment_path(
            st,
            caller,
            p.project.as_deref(),
            p.subject.as_deref(),
            ekey,
        )?;
        let e = &st.experiments[&eid];
        let session = e.label.clone();
        let scan_scope = |s: &crate::state::Scan| {
            let dir = if s.scan_type.is_empty() {
                s.id.clone()
            } else {
                format!("{}-{}", s.id, sanitize_type(&s.scan_type))
            };
            Scope {
                target: Target::Scan(eid.clone(), s.id.clone()),
                uri_base: format!("/data/experiments/{}/scans/{}", eid, s.id),
                category: "scans",
                cat_id: s.id.clone(),
                cat_desc: s.scan_type.clone(),
                zip_dir: format!("{session}/scans/{dir}"),
                zip_dir_simple: format!("{session}/scans/{}", s.id),
            }
        };
        if let Some(sel) = &p.scan {
            let mut scopes: Vec<Scope> = Vec::new();
            for item in sel.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let picked: Vec<&crate::state::Scan> = if item.eq_ignore_ascii_case("ALL") {
                    e.scans.iter().collect()
                } else if let Some(s) = e.scan(item) {
                    vec![s]
                } else {
                    e.scans.iter().filter(|s| s.scan_type == item).collect()
                };
                for s in picked {
                    if !scopes.iter().any(|x| x.cat_id == s.id) {
                        scopes.push(scan_scope(s));
                    }
                }
            }
            if scopes.is_empty() {
                return Err(restlet_error(
                    StatusCode::NOT_FOUND,
                    "Unable to find the specified scan.",
                ));
            }
            let own = scopes.len();
            return Ok(Resolved {
                scopes,
                own,
                project: e.project.clone(),
                archive_name: session,
            });
        }
        let mut scopes = vec![Scope {
            target: Target::Experiment(eid.clone()),
            uri_base: format!("/data/experiments/{eid}"),
            category: "resources",
            cat_id: String::new(),
            cat_desc: String::new(),
            zip_dir: session.clone(),
            zip_dir_simple: session.clone(),
        }];
        scopes.extend(e.scans.iter().map(scan_scope));
        return Ok(Resolved {
            scopes,
            own: 1,
            project: e.project.clone(),
            archive_name: session,
        });
    }
    if let Some(skey) = &p.subject {
        let (subject, base) = match &p.project {
            Some(pk) => {
                let pid = common::readable_project(st, caller, pk)?;
                let s = common::resolve_subject(st, &pid, skey)
                    .ok_or_else(|| common::subject_not_found(Some(&pid), skey))?;
                (s, format!("/data/projects/{pid}/subjects/{}", s.id))
            }
            None => {
                let s = st
                    .subjects
                    .get(skey)
                    .filter(|s| access::can_read_subject(st, caller, s))
                    .ok_or_else(|| common::subject_not_found(None, skey))?;
                (s, format!("/data/projects/{}/subjects/{}", s.project, s.id))
            }
        };
        return Ok(Resolved {
            scopes: vec![Scope {
                target: Target::Subject(subject.id.clone()),
                uri_base: base,
                category: "resources",
                cat_id: String::new(),
                cat_desc: String::new(),
                zip_dir: subject.label.clone(),
                zip_dir_simple: subject.label.clone(),
            }],
            own: 1,
            project: subject.project.clone(),
            archive_name: subject.label.clone(),
        });
    }
    let pk = p.project.as_deref().unwrap_or_default();
    let pid = common::readable_project(st, caller, pk)?;
    Ok(Resolved {
        scopes: vec![Scope {
            target: Target::Project(pid.clone()),
            uri_base: format!("/data/projects/{pid}"),
            category: "resources",
            cat_id: String::new(),
            cat_desc: String::new(),
            zip_dir: pid.clone(),
            zip_dir_simple: pid.clone(),
        }],
        own: 1,
        project: pid.clone(),
        archive_name: pid,
    })
}

pub(super) fn can_edit(st: &SimState, caller: &Caller, project: &str) -> bool {
    st.projects
        .get(project)
        .is_some_and(|p| access::can_edit(caller, p))
}
