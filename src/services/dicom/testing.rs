//! Sample files for the unit tests: small Explicit VR Little Endian MR instances holding the
//! identifying attributes the anonymizer must deal with (nested and private ones included).

use std::path::Path;

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

/// What a sample says.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub patient_id: String,
    pub modality: Option<String>,
    pub study_uid: String,
    pub sop_uid: String,
    /// Transfer syntax UID of the data set.
    pub transfer_syntax: &'static str,
    /// A private element written after the pixel data (as some scanners do).
    pub after_pixels: Option<String>,
}

impl Default for Sample {
    fn default() -> Self {
        Sample {
            patient_id: "PAT001".into(),
            modality: Some("MR".into()),
            study_uid: "1.2.3.4.5".into(),
            sop_uid: "1.2.3.4.5.6.7".into(),
            transfer_syntax: uids::EXPLICIT_VR_LITTLE_ENDIAN,
            after_pixels: None,
        }
    }
}

fn s(tag: Tag, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(v))
}

/// Write a sample file at `path`.
pub(crate) fn write_sample(path: &Path, sample: &Sample) {
    let mut obj = InMemDicomObject::new_empty();
    obj.put(s(tags::SOP_CLASS_UID, VR::UI, uids::MR_IMAGE_STORAGE));
    obj.put(s(tags::SOP_INSTANCE_UID, VR::UI, &sample.sop_uid));
    obj.put(s(tags::STUDY_DATE, VR::DA, "20240102"));
    obj.put(s(tags::ACCESSION_NUMBER, VR::SH, "ACC42"));
    if let Some(m) = &sample.modality {
        obj.put(s(tags::MODALITY, VR::CS, m));
    }
    obj.put(s(tags::INSTITUTION_NAME, VR::LO, "General Hospital"));
    obj.put(s(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "Doe^John"));
    obj.put(s(tags::STUDY_DESCRIPTION, VR::LO, "Brain"));
    let mut referenced = InMemDicomObject::new_empty();
    referenced.put(s(
        tags::REFERENCED_SOP_CLASS_UID,
        VR::UI,
        uids::MR_IMAGE_STORAGE,
    ));
    referenced.put(s(
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        "1.2.3.4.5.6.1",
    ));
    obj.put(DataElement::new(
        tags::REFERENCED_IMAGE_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![referenced]),
    ));
    obj.put(s(tags::PATIENT_NAME, VR::PN, "Smith^Jane"));
    obj.put(s(tags::PATIENT_ID, VR::LO, &sample.patient_id));
    obj.put(s(tags::PATIENT_BIRTH_DATE, VR::DA, "19700101"));
    obj.put(s(tags::PATIENT_SEX, VR::CS, "F"));
    let mut other = InMemDicomObject::new_empty();
    other.put(s(tags::PATIENT_ID, VR::LO, "OTHER-ID-9"));
    obj.put(DataElement::new(
        tags::OTHER_PATIENT_I_DS_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![other]),
    ));
    obj.put(s(Tag(0x0009, 0x0010), VR::LO, "ACME"));
    obj.put(s(Tag(0x0009, 0x1001), VR::LO, "secret"));
    obj.put(s(tags::STUDY_INSTANCE_UID, VR::UI, &sample.study_uid));
    obj.put(s(tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3.4.5.6"));
    obj.put(s(tags::SERIES_NUMBER, VR::IS, "1"));
    obj.put(s(tags::FRAME_OF_REFERENCE_UID, VR::UI, "1.2.3.4.9"));
    obj.put(DataElement::new(
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(2_u16),
    ));
    obj.put(DataElement::new(
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(2_u16),
    ));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(vec![1, 2, 3, 4].into()),
    ));
    if let Some(v) = &sample.after_pixels {
        obj.put(s(Tag(0x7FE1, 0x0010), VR::LO, "ACME"));
        obj.put(s(Tag(0x7FE1, 0x1001), VR::LO, v));
    }
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(uids::MR_IMAGE_STORAGE)
        .media_storage_sop_instance_uid(sample.sop_uid.as_str())
        .transfer_syntax(sample.transfer_syntax)
        .implementation_class_uid("1.2.3.999")
        .build()
        .unwrap();
    obj.with_exact_meta(meta).write_to_file(path).unwrap();
}
