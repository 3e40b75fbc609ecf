//! Canned data: the `demo` fixture and the `--generate` bulk generator.
//!
//! Demo layout (IDs are deterministic because the fixture runs on an empty state):
//! * users: the configured ones (default `admin:admin`, site admin) plus `user:user`, a normal user;
//! * `DEMO_MR` (private; owner admin, member `user`): subjects `SUBJ001`..`SUBJ003`
//!   (`XNAT_S00001`..3, custom field `group`), MR sessions `SUBJ00N_MR1` (`XNAT_E00001`..3) with
//!   scans 1 Localizer, 2 T1w, 3 rest fMRI; `SUBJ001_MR1` carries custom field `site=A`;
//! * `DEMO_CT` (protected; owner admin, collaborator `user`): subject `CT001` (`XNAT_S00004`) with
//!   CT session `CT001_CT1` (`XNAT_E00004`, scans 1 Topogram, 2 Axial); `SUBJ001` is shared into
//!   `DEMO_CT` with label `SUBJ001_CT`, and `SUBJ001_MR1` is shared there unchanged;
//! * `DEMO_PUBLIC` (public; owner admin, no other members), empty.
//!
//! Other modules add files, resources and prearchive entries by extending [`demo`].

use std::collections::{BTreeMap, HashMap};

use crate::config::GenerateSpec;
use crate::state::{
    generated_bytes, md5_hex, Accessibility, Experiment, FileData, FileEntry, Project, Resource,
    Scan, State, Subject,
};

pub fn demo(state: &mut State) {
    state.docker_images = crate::routes::docker::demo_images();
    if !state.users.contains_key("user") {
        let u = state.add_user("user", "user", false);
        u.first_name = "Normal".into();
        u.last_name = "User".into();
    }
    let admin = state
        .users
        .values()
        .find(|u| u.admin)
        .map(|u| u.username.clone())
        .unwrap_or_else(|| "admin".into());

    let mut mr = Project::new("DEMO_MR", &admin);
    mr.name = "Demo MR study".into();
    mr.description = "MR sessions for demos and tests".into();
    mr.pi_firstname = "Jane".into();
    mr.pi_lastname = "Doe".into();
    mr.members.insert("user".into());
    state.projects.insert(mr.id.clone(), mr);

    let mut ct = Project::new("DEMO_CT", &admin);
    ct.name = "Demo CT study".into();
    ct.description = "CT sessions and shared data".into();
    ct.pi_lastname = "Roe".into();
    ct.accessibility = Accessibility::Protected;
    ct.collaborators.insert("user".into());
    state.projects.insert(ct.id.clone(), ct);

    let mut public = Project::new("DEMO_PUBLIC", &admin);
    public.name = "Demo public project".into();
    public.accessibility = Accessibility::Public;
    state.projects.insert(public.id.clone(), public);

    let mr_scans = [
        ("1", "Localizer", "localizer", 3),
        ("2", "T1w", "T1w MPRAGE", 176),
        ("3", "rest", "fMRI resting state", 240),
    ];
    for (n, group) in [(1, "control"), (2, "patient"), (3, "control")] {
        let label = format!("SUBJ{n:03}");
        let sid = add_subject(state, "DEMO_MR", &label, &admin);
        let s = state.subjects.get_mut(&sid).expect("just added");
        s.fields.insert("group".into(), group.into());
        s.attrs.insert(
            "gender".into(),
            if n == 2 { "male" } else { "female" }.into(),
        );
        let eid = add_experiment(
            state,
            "DEMO_MR",
            &sid,
            &format!("{label}_MR1"),
            "xnat:mrSessionData",
            &format!("2024-01-{:02}", 10 + n),
            &admin,
        );
        for (id, ty, desc, frames) in mr_scans {
            add_scan(state, &eid, id, "xnat:mrScanData", ty, desc, frames);
        }
    }
    if let Some(e) = state.experiments.get_mut("XNAT_E00001") {
        e.fields.insert("site".into(), "A".into());
        e.attrs.insert("fieldStrength".into(), "3.0".into());
        e.attrs
            .insert("UID".into(), "1.2.826.0.1.3680043.8.498.1".into());
    }

    let sid = add_subject(state, "DEMO_CT", "CT001", &admin);
    let eid = add_experiment(
        state,
        "DEMO_CT",
        &sid,
        "CT001_CT1",
        "xnat:ctSessionData",
        "2024-02-01",
        &admin,
    );
    add_scan(
        state,
        &eid,
        "1",
        "xnat:ctScanData",
        "Topogram",
        "Topogram 0.6 T20s",
        1,
    );
    add_scan(
        state,
        &eid,
        "2",
        "xnat:ctScanData",
        "Axial",
        "Axial 3mm",
        120,
    );

    if let Some(s) = state.subjects.get_mut("XNAT_S00001") {
        s.shares.insert("DEMO_CT".into(), "SUBJ001_CT".into());
    }
    if let Some(e) = state.experiments.get_mut("XNAT_E00001") {
        e.shares.insert("DEMO_CT".into(), "SUBJ001_MR1".into());
    }

    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xdat:stored_search ID=\"xs_demo_mr\" brief-description=\"Demo MR sessions\" description=\"MR sessions of DEMO_MR\" secure=\"false\" xmlns:xdat=\"http://nrg.wustl.edu/security\">\n<xdat:root_element_name>xnat:mrSessionData</xdat:root_element_name>\n<xdat:search_where method=\"AND\"><xdat:criteria override_value_formatting=\"0\"><xdat:schema_field>xnat:mrSessionData/PROJECT</xdat:schema_field><xdat:comparison_type>=</xdat:comparison_type><xdat:value>DEMO_MR</xdat:value></xdat:criteria></xdat:search_where>\n</xdat:stored_search>\n";
    if let Ok(mut s) = crate::routes::search::parse_search("xs_demo_mr", xml) {
        s.users = vec![admin.clone()];
        state.saved_searches.insert(s.id.clone(), s);
    }
    crate::fixture_files::demo_files(state);
}

/// Add a subject with a fresh accession ID; returns the ID.
pub fn add_subject(state: &mut State, project: &str, label: &str, user: &str) -> String {
    crate::routes::subjects::create_subject(state, project, label, user)
}

/// Add an experiment with a fresh accession ID; returns the ID.
pub fn add_experiment(
    state: &mut State,
    project: &str,
    subject_id: &str,
    label: &str,
    xsi_type: &str,
    date: &str,
    user: &str,
) -> String {
    let id = state.next_experiment_id();
    state.experiments.insert(
        id.clone(),
        Experiment {
            id: id.clone(),
            project: project.to_string(),
            subject_id: subject_id.to_string(),
            label: label.to_string(),
            xsi_type: xsi_type.to_string(),
            date: Some(date.to_string()),
            time: Some("09:30:00".to_string()),
            modality: crate::routes::scans::modality_of(xsi_type),
            insert_date: crate::state::now_timestamp(),
            last_modified: crate::state::now_timestamp(),
            insert_user: user.to_string(),
            attrs: BTreeMap::new(),
            fields: BTreeMap::new(),
            shares: BTreeMap::new(),
            history: Vec::new(),
            scans: Vec::new(),
            resources: Vec::new(),
        },
    );
    crate::routes::experiment_edit::record_event(state, &id, "Added", user);
    id
}

/// Add a scan to experiment `eid`.
pub fn add_scan(
    state: &mut State,
    eid: &str,
    id: &str,
    xsi_type: &str,
    scan_type: &str,
    description: &str,
    frames: u64,
) {
    let pk = state.next_scan_pk();
    if let Some(e) = state.experiments.get_mut(eid) {
        e.scans.push(Scan {
            id: id.to_string(),
            pk,
            xsi_type: xsi_type.to_string(),
            scan_type: scan_type.to_string(),
            series_description: description.to_string(),
            quality: "usable".to_string(),
            frames: Some(frames),
            note: String::new(),
            attrs: BTreeMap::new(),
            resources: Vec::new(),
        });
    }
}

/// An imaging project made of real DICOM (what the import service accepts): `subjects`
/// subjects `<P>_S01`.., each with `sessions` MR sessions `<subject>_MR1`.., each with `scans`
/// scans whose `DICOM` resource holds `files` generated instances (one study per session,
/// SeriesNumber = scan ID, files named `<SOPInstanceUID>.dcm` as the import service names
/// them). `study_base` keeps StudyInstanceUIDs unique across calls. Returns the session IDs.
pub fn dicom_project(
    state: &mut State,
    project: &str,
    counts: (u32, u32, u32, u32),
    study_base: u32,
) -> Vec<String> {
    let (subjects, sessions, scans, files) = counts;
    let user = "admin";
    if !state.projects.contains_key(project) {
        let p = Project::new(project, user);
        state.projects.insert(project.to_string(), p);
    }
    let mut out = Vec::new();
    let mut study = study_base;
    for s in 1..=subjects {
        let slabel = format!("{project}_S{s:02}");
        let sid = match state.subject_by_label(project, &slabel) {
            Some(x) => x.id.clone(),
            None => add_subject(state, project, &slabel, user),
        };
        for e in 1..=sessions {
            study += 1;
            let elabel = format!("{slabel}_MR{e}");
            out.push(add_dicom_session(
                state, project, &sid, &elabel, study, scans, files,
            ));
        }
    }
    out
}

/// One MR session of real DICOM under subject `sid` (see [`dicom_project`]); returns its ID.
pub fn add_dicom_session(
    state: &mut State,
    project: &str,
    sid: &str,
    label: &str,
    study: u32,
    scans: u32,
    files: u32,
) -> String {
    let patient = state
        .subjects
        .get(sid)
        .map(|s| s.label.clone())
        .unwrap_or_default();
    let eid = add_experiment(
        state,
        project,
        sid,
        label,
        "xnat:mrSessionData",
        "2024-01-15",
        "admin",
    );
    for sc in 1..=scans {
        add_scan(
            state,
            &eid,
            &sc.to_string(),
            "xnat:mrScanData",
            &format!("series {sc}"),
            &format!("series {sc}"),
            files as u64,
        );
        let mut entries = BTreeMap::new();
        for i in 1..=files {
            let spec = crate::dicom::DicomSpec::mr(&patient, study, sc, i);
            let bytes = crate::dicom::generate(&spec);
            entries.insert(
                format!("{}.dcm", spec.sop_instance_uid()),
                FileEntry {
                    size: bytes.len() as u64,
                    digest: md5_hex(&bytes),
                    content_type: "application/dicom".into(),
                    data: FileData::Inline(bytes),
                },
            );
        }
        let rid = state.next_resource_id();
        if let Some(scan) = state
            .experiments
            .get_mut(&eid)
            .and_then(|x| x.scan_mut(&sc.to_string()))
        {
            scan.resources.push(Resource {
                id: rid,
                label: "DICOM".into(),
                format: "DICOM".into(),
                content: "RAW".into(),
                tags: String::new(),
                files: entries,
            });
        }
    }
    eid
}

/// Bulk data: `projects` projects `GEN00001`..; per project `subjects`; per subject `sessions` MR
/// sessions; per session `scans` scans; per scan a `DICOM` resource with `files` generated files
/// of `file_size` bytes (content from [`generated_bytes`], never written to disk).
pub fn generate(state: &mut State, spec: &GenerateSpec) {
    let admin = state
        .users
        .values()
        .find(|u| u.admin)
        .map(|u| u.username.clone())
        .unwrap_or_else(|| "admin".into());
    let now = crate::state::now_timestamp();
    // Files with the same seed share content; hash each seed once.
    let mut digests: HashMap<u64, String> = HashMap::new();
    for p in 1..=spec.projects {
        let pid = format!("GEN{p:05}");
        let mut project = Project::new(&pid, &admin);
        project.name = format!("Generated project {p}");
        project.insert_date = now.clone();
        state.projects.insert(pid.clone(), project);
        for s in 1..=spec.subjects {
            let sid = state.next_subject_id();
            let slabel = format!("{pid}_S{s:04}");
            state.subjects.insert(
                sid.clone(),
                Subject {
                    id: sid.clone(),
                    project: pid.clone(),
                    label: slabel.clone(),
                    insert_date: now.clone(),
                    insert_user: admin.clone(),
                    attrs: BTreeMap::new(),
                    fields: BTreeMap::new(),
                    shares: BTreeMap::new(),
                    resources: Vec::new(),
                },
            );
            for e in 1..=spec.sessions {
                let eid = add_experiment(
                    state,
                    &pid,
                    &sid,
                    &format!("{slabel}_MR{e}"),
                    "xnat:mrSessionData",
                    "2024-03-01",
                    &admin,
                );
                for sc in 1..=spec.scans {
                    add_scan(
                        state,
                        &eid,
                        &sc.to_string(),
                        "xnat:mrScanData",
                        "T1w",
                        "T1w",
                        spec.files,
                    );
                    if spec.files == 0 {
                        continue;
                    }
                    let mut files = BTreeMap::new();
                    for f in 1..=spec.files {
                        let seed = f;
                        let digest = digests
                            .entry(seed)
                            .or_insert_with(|| md5_hex(&generated_bytes(seed, spec.file_size)))
                            .clone();
                        files.insert(
                            format!("{f:06}.dcm"),
                            FileEntry {
                                size: spec.file_size,
                                digest,
                                content_type: "application/dicom".into(),
                                data: FileData::Generated { seed },
                            },
                        );
                    }
                    let rid = state.next_resource_id();
                    if let Some(scan) = state
                        .experiments
                        .get_mut(&eid)
                        .and_then(|x| x.scan_mut(&sc.to_string()))
                    {
                        scan.resources.push(Resource {
                            id: rid,
                            label: "DICOM".into(),
                            format: "DICOM".into(),
                            content: "RAW".into(),
                            tags: String::new(),
                            files,
                        });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn demo_has_shared_subject() {
        let mut st = State::new(std::env::temp_dir(), Duration::from_secs(900));
        st.add_user("admin", "admin", true);
        demo(&mut st);
        assert_eq!(st.projects.len(), 3);
        assert_eq!(st.subjects["XNAT_S00001"].shares["DEMO_CT"], "SUBJ001_CT");
        assert_eq!(st.experiments["XNAT_E00004"].xsi_type, "xnat:ctSessionData");
    }

    #[test]
    fn generates_ten_thousand_projects_fast() {
        let mut st = State::new(std::env::temp_dir(), Duration::from_secs(900));
        st.add_user("admin", "admin", true);
        let t = Instant::now();
        let spec: GenerateSpec = "projects=10000".parse().unwrap();
        generate(&mut st, &spec);
        assert_eq!(st.projects.len(), 10000);
        assert!(t.elapsed() < Duration::from_secs(2));
        let spec: GenerateSpec = "projects=1,subjects=1,sessions=1,scans=2,files=3,file-size=100"
            .parse()
            .unwrap();
        let mut st = State::new(std::env::temp_dir(), Duration::from_secs(900));
        generate(&mut st, &spec);
        let e = st.experiments.values().next().unwrap();
        let f = &e.scans[1].resources[0].files["000002.dcm"];
        assert_eq!(f.digest, md5_hex(&generated_bytes(2, 100)));
    }
}
