//! Who may see and do what. XNAT's rules, reduced to project roles:
//! * admins do anything;
//! * owners read, edit, delete and manage (users, accessibility) their project;
//! * members read, create and edit, but not delete;
//! * collaborators read only;
//! * everyone can see public and protected projects in listings; public project data is readable by
//!   any authenticated user; protected project data is not.
//!
//! Invisible objects answer 404, visible-but-forbidden actions 403 (fidelity spec §2.3).

use crate::params::Caller;
use crate::state::{Accessibility, Experiment, Project, Role, State, Subject};

/// The project row shows up in listings and its detail is readable.
pub fn can_see_project(c: &Caller, p: &Project) -> bool {
    c.admin || p.accessibility != Accessibility::Private || has_role(c, p)
}

/// Subjects, experiments and files of the project are readable.
pub fn can_read(c: &Caller, p: &Project) -> bool {
    c.admin || p.accessibility == Accessibility::Public || has_role(c, p)
}

/// Create and modify data in the project.
pub fn can_edit(c: &Caller, p: &Project) -> bool {
    c.admin || matches!(role(c, p), Some(Role::Owner | Role::Member))
}

/// Delete data, change settings and membership.
pub fn can_delete(c: &Caller, p: &Project) -> bool {
    c.admin || role(c, p) == Some(Role::Owner)
}

pub fn role(c: &Caller, p: &Project) -> Option<Role> {
    c.username.as_deref().and_then(|u| p.role_of(u))
}

fn has_role(c: &Caller, p: &Project) -> bool {
    role(c, p).is_some()
}

/// Readable through the owning project or any project it is shared into.
pub fn can_read_subject(st: &State, c: &Caller, s: &Subject) -> bool {
    std::iter::once(&s.project)
        .chain(s.shares.keys())
        .filter_map(|p| st.projects.get(p))
        .any(|p| can_read(c, p))
}

pub fn can_read_experiment(st: &State, c: &Caller, e: &Experiment) -> bool {
    std::iter::once(&e.project)
        .chain(e.shares.keys())
        .filter_map(|p| st.projects.get(p))
        .any(|p| can_read(c, p))
}

/// Edit rights on the owning project.
pub fn can_edit_experiment(st: &State, c: &Caller, e: &Experiment) -> bool {
    st.projects.get(&e.project).is_some_and(|p| can_edit(c, p))
}

pub fn can_edit_subject(st: &State, c: &Caller, s: &Subject) -> bool {
    st.projects.get(&s.project).is_some_and(|p| can_edit(c, p))
}
