//! The files part of the demo fixture: small generated DICOM in `DICOM` scan resources, a
//! session-level `NOTES` resource, and one prearchive session.
//!
//! * `SUBJ001_MR1` (`XNAT_E00001`): scans 1 and 2 get a `DICOM` resource with 2 MR instances each
//!   (`1-1.dcm`, `1-2.dcm`, ...); the session gets `NOTES` with `notes.txt`;
//! * `CT001_CT1` (`XNAT_E00004`): scan 2 gets a `DICOM` resource with 2 CT instances;
//! * prearchive `DEMO_MR/20240301_101500000/PRE001` (status READY): one MR series of 2 instances.

use std::collections::BTreeMap;

use crate::dicom::{self, DicomSpec};
use crate::state::{
    md5_hex, FileData, FileEntry, PrearchiveEntry, PrearchiveScan, Resource, State,
};

/// An in-memory file entry for fixture bytes.
pub fn inline_entry(bytes: Vec<u8>, content_type: &str) -> FileEntry {
    FileEntry {
        size: bytes.len() as u64,
        digest: md5_hex(&bytes),
        content_type: content_type.to_string(),
        data: FileData::Inline(bytes),
    }
}

fn dicom_files(specs: impl IntoIterator<Item = DicomSpec>) -> BTreeMap<String, FileEntry> {
    specs
        .into_iter()
        .map(|s| {
            let name = format!("{}-{}.dcm", s.series_number, s.instance_number);
            (name, inline_entry(dicom::generate(&s), "application/dicom"))
        })
        .collect()
}

fn dicom_resource(state: &mut State, files: BTreeMap<String, FileEntry>) -> Resource {
    Resource {
        id: state.next_resource_id(),
        label: "DICOM".into(),
        format: "DICOM".into(),
        content: "RAW".into(),
        tags: String::new(),
        files,
    }
}

fn add_scan_dicom(state: &mut State, eid: &str, scan: &str, specs: Vec<DicomSpec>) {
    let res = dicom_resource(state, dicom_files(specs));
    if let Some(s) = state
        .experiments
        .get_mut(eid)
        .and_then(|e| e.scan_mut(scan))
    {
        s.resources.push(res);
    }
}

/// Called at the end of [`crate::fixture::demo`].
pub fn demo_files(state: &mut State) {
    for series in [1u32, 2] {
        let specs = (1..=2)
            .map(|i| {
                let mut s = DicomSpec::mr("SUBJ001", 1, series, i);
                s.series_description = if series == 1 {
                    "localizer"
                } else {
                    "T1w MPRAGE"
                }
                .into();
                s
            })
            .collect();
        add_scan_dicom(state, "XNAT_E00001", &series.to_string(), specs);
    }
    let notes = Resource {
        id: state.next_resource_id(),
        label: "NOTES".into(),
        format: "TXT".into(),
        content: "notes".into(),
        tags: String::new(),
        files: BTreeMap::from([(
            "notes.txt".to_string(),
            inline_entry(
                b"Demo session notes: subject tolerated the scan well.\n".to_vec(),
                "text/plain",
            ),
        )]),
    };
    if let Some(e) = state.experiments.get_mut("XNAT_E00001") {
        e.resources.push(notes);
    }
    let ct = (1..=2)
        .map(|i| {
            let mut s = DicomSpec::ct("CT001", 4, 2, i);
            s.series_description = "Axial 3mm".into();
            s
        })
        .collect();
    add_scan_dicom(state, "XNAT_E00004", "2", ct);

    let pre = DicomSpec::mr("PRE001", 9, 1, 1);
    state.prearchive.push(PrearchiveEntry {
        project: "DEMO_MR".into(),
        timestamp: "20240301_101500000".into(),
        folder_name: "PRE001".into(),
        name: "PRE001".into(),
        status: "READY".into(),
        subject: "PRE001".into(),
        session: "PRE001".into(),
        tag: pre.study_uid.clone(),
        scan_date: "2024-01-15 00:00:00.0".into(),
        scan_time: "09:30:00".into(),
        uploaded: "2024-03-01 10:15:00.000".into(),
        lastmod: "2024-03-01 10:15:02.000".into(),
        source: "SessionImporter".into(),
        scans: vec![PrearchiveScan {
            id: "1".into(),
            scan_type: "series 1".into(),
            series_description: "series 1".into(),
            files: dicom_files((1..=2).map(|i| DicomSpec::mr("PRE001", 9, 1, i))),
        }],
    });
}
