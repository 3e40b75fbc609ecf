//! Small but valid DICOM files for fixtures, and the header reader the import service uses.
//!
//! Generated files are Explicit VR Little Endian MR or CT images of 8×8 16-bit pixels (a few KB),
//! enough for any DICOM parser and for the import service to sort them into subject, session and
//! scans. Parsing stops before Pixel Data: the importer needs the header only.

use std::io::Read;
use std::path::Path;

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject, OpenFileOptions};

/// What a generated instance says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DicomSpec {
    pub patient_id: String,
    pub patient_name: String,
    pub study_uid: String,
    pub study_description: String,
    pub accession_number: String,
    /// `YYYYMMDD`.
    pub study_date: String,
    /// `HHMMSS`.
    pub study_time: String,
    /// `MR` or `CT` (anything else is written as given with the MR SOP class).
    pub modality: String,
    pub series_number: u32,
    pub series_description: String,
    pub instance_number: u32,
}

impl DicomSpec {
    /// A deterministic MR instance; UIDs derive from the numbers so fixtures are reproducible.
    pub fn mr(patient: &str, study: u32, series: u32, instance: u32) -> Self {
        DicomSpec {
            patient_id: patient.to_string(),
            patient_name: format!("{patient}^Demo"),
            study_uid: study_uid(study),
            study_description: "Demo MR".to_string(),
            accession_number: format!("ACC{study:04}"),
            study_date: "20240115".to_string(),
            study_time: "093000".to_string(),
            modality: "MR".to_string(),
            series_number: series,
            series_description: format!("series {series}"),
            instance_number: instance,
        }
    }

    pub fn ct(patient: &str, study: u32, series: u32, instance: u32) -> Self {
        DicomSpec {
            modality: "CT".to_string(),
            study_description: "Demo CT".to_string(),
            ..DicomSpec::mr(patient, study, series, instance)
        }
    }

    pub fn series_uid(&self) -> String {
        format!("{}.{}", self.study_uid, self.series_number)
    }

    pub fn sop_instance_uid(&self) -> String {
        format!(
            "{}.{}.{}",
            self.study_uid, self.series_number, self.instance_number
        )
    }
}

/// `2.25`-rooted study UID for a study number (fixture use).
pub fn study_uid(study: u32) -> String {
    format!("2.25.1000{study}")
}

fn sop_class(modality: &str) -> &'static str {
    match modality {
        "CT" => uids::CT_IMAGE_STORAGE,
        _ => uids::MR_IMAGE_STORAGE,
    }
}

/// Encode one instance as a DICOM Part 10 file (preamble, `DICM`, meta group, data set).
pub fn generate(spec: &DicomSpec) -> Vec<u8> {
    let mut obj = InMemDicomObject::new_empty();
    let mut s = |tag, vr, v: String| {
        obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    };
    s(
        tags::SOP_CLASS_UID,
        VR::UI,
        sop_class(&spec.modality).into(),
    );
    s(tags::SOP_INSTANCE_UID, VR::UI, spec.sop_instance_uid());
    s(tags::STUDY_DATE, VR::DA, spec.study_date.clone());
    s(tags::STUDY_TIME, VR::TM, spec.study_time.clone());
    s(
        tags::ACCESSION_NUMBER,
        VR::SH,
        spec.accession_number.clone(),
    );
    s(tags::MODALITY, VR::CS, spec.modality.clone());
    s(
        tags::STUDY_DESCRIPTION,
        VR::LO,
        spec.study_description.clone(),
    );
    s(
        tags::SERIES_DESCRIPTION,
        VR::LO,
        spec.series_description.clone(),
    );
    s(tags::PATIENT_NAME, VR::PN, spec.patient_name.clone());
    s(tags::PATIENT_ID, VR::LO, spec.patient_id.clone());
    s(tags::STUDY_INSTANCE_UID, VR::UI, spec.study_uid.clone());
    s(tags::SERIES_INSTANCE_UID, VR::UI, spec.series_uid());
    s(tags::STUDY_ID, VR::SH, "1".into());
    s(tags::SERIES_NUMBER, VR::IS, spec.series_number.to_string());
    s(
        tags::INSTANCE_NUMBER,
        VR::IS,
        spec.instance_number.to_string(),
    );
    s(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2".into(),
    );
    let u16v = |v: u16| PrimitiveValue::from(v);
    obj.put(DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, u16v(1)));
    obj.put(DataElement::new(tags::ROWS, VR::US, u16v(8)));
    obj.put(DataElement::new(tags::COLUMNS, VR::US, u16v(8)));
    obj.put(DataElement::new(tags::BITS_ALLOCATED, VR::US, u16v(16)));
    obj.put(DataElement::new(tags::BITS_STORED, VR::US, u16v(12)));
    obj.put(DataElement::new(tags::HIGH_BIT, VR::US, u16v(11)));
    obj.put(DataElement::new(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        u16v(0),
    ));
    let pixels: Vec<u8> = (0..128u32)
        .map(|i| ((i * 7 + spec.instance_number) % 251) as u8)
        .collect();
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::from(pixels),
    ));
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .expect("static meta table is complete");
    let mut out = Vec::with_capacity(2048);
    file.write_all(&mut out)
        .expect("writing to memory cannot fail");
    out
}

/// The header fields the importer sorts by (missing elements are empty strings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DicomHeader {
    pub sop_instance_uid: String,
    pub patient_id: String,
    pub patient_name: String,
    pub study_uid: String,
    pub study_description: String,
    pub accession_number: String,
    pub study_date: String,
    pub study_time: String,
    pub modality: String,
    pub series_number: String,
    pub series_description: String,
}

/// Read the header of a DICOM Part 10 file (with or without the 128-byte preamble).
pub fn read_header(path: &Path) -> Result<DicomHeader, String> {
    let mut magic = [0u8; 132];
    let n = std::fs::File::open(path)
        .and_then(|mut f| read_up_to(&mut f, &mut magic))
        .map_err(|e| e.to_string())?;
    let has_preamble = n == 132 && &magic[128..132] == b"DICM";
    let bare = n >= 4 && &magic[..4] == b"DICM";
    if !has_preamble && !bare {
        return Err("not a DICOM Part 10 file".to_string());
    }
    let preamble = if has_preamble {
        dicom_object::file::ReadPreamble::Always
    } else {
        dicom_object::file::ReadPreamble::Never
    };
    let obj = OpenFileOptions::new()
        .read_preamble(preamble)
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| e.to_string())?;
    let get = |tag| {
        obj.element_opt(tag)
            .ok()
            .flatten()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).trim().to_string())
            .unwrap_or_default()
    };
    Ok(DicomHeader {
        sop_instance_uid: get(tags::SOP_INSTANCE_UID),
        patient_id: get(tags::PATIENT_ID),
        patient_name: get(tags::PATIENT_NAME),
        study_uid: get(tags::STUDY_INSTANCE_UID),
        study_description: get(tags::STUDY_DESCRIPTION),
        accession_number: get(tags::ACCESSION_NUMBER),
        study_date: get(tags::STUDY_DATE),
        study_time: get(tags::STUDY_TIME),
        modality: get(tags::MODALITY),
        series_number: get(tags::SERIES_NUMBER),
        series_description: get(tags::SERIES_DESCRIPTION),
    })
}

/// [`read_header`] for bytes in memory (fixtures).
pub fn read_header_bytes(bytes: &[u8]) -> Result<DicomHeader, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("h.dcm");
    std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    read_header(&path)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_file_parses_back() {
        let dir = tempfile::tempdir().unwrap();
        for spec in [DicomSpec::mr("P01", 1, 2, 3), DicomSpec::ct("P02", 2, 1, 1)] {
            let bytes = generate(&spec);
            assert!(bytes.len() < 4096, "{} bytes", bytes.len());
            assert_eq!(&bytes[128..132], b"DICM");
            let path = dir.path().join("x.dcm");
            std::fs::write(&path, &bytes).unwrap();
            let h = read_header(&path).unwrap();
            assert_eq!(h.patient_id, spec.patient_id);
            assert_eq!(h.patient_name, spec.patient_name);
            assert_eq!(h.study_uid, spec.study_uid);
            assert_eq!(h.modality, spec.modality);
            assert_eq!(h.series_number, spec.series_number.to_string());
            assert_eq!(h.sop_instance_uid, spec.sop_instance_uid());
            assert_eq!(h.accession_number, spec.accession_number);
        }
    }

    #[test]
    fn text_is_not_dicom() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, b"hello").unwrap();
        assert!(read_header(&path).is_err());
    }
}
