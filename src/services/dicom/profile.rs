//! The attribute actions of the DICOM PS3.15 Annex E Basic Application Level Confidentiality
//! Profile (Table E.1-1), by keyword, resolved to tags once.
//!
//! Where the table allows a choice (X/Z, X/Z/D, Z/D) the least revealing one that keeps the
//! file valid is taken: removal for optional attributes, an empty value for type 2 ones, a
//! dummy for the few type 1 ones. UIDs are not listed: every UI value that is not a well-known
//! DICOM UID or a class/syntax UID is replaced (the table's U action covers exactly those
//! instance UIDs, and vendor-specific UIDs in standard attributes are caught too).

use std::collections::HashMap;
use std::sync::OnceLock;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::Tag;
use dicom_dictionary_std::StandardDataDictionary;

/// What the profile does to an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// X: remove.
    Remove,
    /// Z: replace with a zero-length value.
    Empty,
    /// D: replace with a non-identifying dummy of the same VR.
    Dummy,
}

use Action::{Dummy as D, Empty as Z, Remove as X};

/// Table E.1-1, basic profile column (UIDs handled by rule, see the module docs).
const BASIC: &[(&str, Action)] = &[
    ("AccessionNumber", Z),
    ("AcquisitionComments", X),
    ("AcquisitionContextSequence", X),
    ("AcquisitionDate", X),
    ("AcquisitionDateTime", X),
    ("AcquisitionDeviceProcessingDescription", X),
    ("AcquisitionProtocolDescription", X),
    ("AcquisitionTime", X),
    ("ActualHumanPerformersSequence", X),
    ("AdditionalPatientHistory", X),
    ("AdmissionID", X),
    ("AdmittingDate", X),
    ("AdmittingDiagnosesCodeSequence", X),
    ("AdmittingDiagnosesDescription", X),
    ("AdmittingTime", X),
    ("Allergies", X),
    ("Arbitrary", X),
    ("AuthorObserverSequence", X),
    ("BranchOfService", X),
    ("CassetteID", X),
    ("CommentsOnThePerformedProcedureStep", X),
    ("ConfidentialityConstraintOnPatientDataDescription", X),
    ("ContentCreatorName", Z),
    ("ContentCreatorIdentificationCodeSequence", X),
    ("ContentDate", Z),
    ("ContentSequence", X),
    ("ContentTime", Z),
    ("ContributionDescription", X),
    ("CountryOfResidence", X),
    ("CurrentPatientLocation", X),
    ("CustodialOrganizationSequence", X),
    ("DataSetTrailingPadding", X),
    ("DerivationDescription", X),
    ("DetectorID", X),
    ("DeviceSerialNumber", X),
    ("DeviceUID", X),
    ("DigitalSignaturesSequence", X),
    ("DischargeDiagnosisDescription", X),
    ("DistributionAddress", X),
    ("DistributionName", X),
    ("EthnicGroup", X),
    ("FillerOrderNumberImagingServiceRequest", Z),
    ("FrameComments", X),
    ("GantryID", X),
    ("GeneratorID", X),
    ("HumanPerformerName", X),
    ("HumanPerformerOrganization", X),
    ("IconImageSequence", X),
    ("IdentifyingComments", X),
    ("ImageComments", X),
    ("ImagePresentationComments", X),
    ("ImagingServiceRequestComments", X),
    ("Impressions", X),
    ("InstanceCreationDate", X),
    ("InstanceCreationTime", X),
    ("InstitutionAddress", X),
    ("InstitutionCodeSequence", X),
    ("InstitutionName", X),
    ("InstitutionalDepartmentName", X),
    ("InsurancePlanIdentification", X),
    ("IntendedRecipientsOfResultsIdentificationSequence", X),
    ("InterpretationApproverSequence", X),
    ("InterpretationAuthor", X),
    ("InterpretationDiagnosisDescription", X),
    ("InterpretationIDIssuer", X),
    ("InterpretationRecorder", X),
    ("InterpretationText", X),
    ("InterpretationTranscriber", X),
    ("IssuerOfAdmissionID", X),
    ("IssuerOfPatientID", X),
    ("IssuerOfServiceEpisodeID", X),
    ("LastMenstrualDate", X),
    ("MedicalAlerts", X),
    ("MedicalRecordLocator", X),
    ("MilitaryRank", X),
    ("ModifiedAttributesSequence", X),
    ("ModifyingDeviceID", X),
    ("ModifyingDeviceManufacturer", X),
    ("NameOfPhysiciansReadingStudy", X),
    ("NamesOfIntendedRecipientsOfResults", X),
    ("Occupation", X),
    ("OperatorIdentificationSequence", X),
    ("OperatorsName", X),
    ("OrderCallbackPhoneNumber", X),
    ("OrderEnteredBy", X),
    ("OrderEntererLocation", X),
    ("OriginalAttributesSequence", X),
    ("OtherPatientIDs", X),
    ("OtherPatientIDsSequence", X),
    ("OtherPatientNames", X),
    ("OverlayDate", X),
    ("OverlayTime", X),
    ("ParticipantSequence", X),
    ("PatientAddress", X),
    ("PatientAge", X),
    ("PatientBirthDate", Z),
    ("PatientBirthName", X),
    ("PatientBirthTime", X),
    ("PatientComments", X),
    ("PatientInsurancePlanCodeSequence", X),
    ("PatientMotherBirthName", X),
    ("PatientPrimaryLanguageCodeSequence", X),
    ("PatientReligiousPreference", X),
    ("PatientSex", Z),
    ("PatientSexNeutered", X),
    ("PatientSize", X),
    ("PatientState", X),
    ("PatientTelephoneNumbers", X),
    ("PatientTransportArrangements", X),
    ("PatientWeight", X),
    ("PerformedLocation", X),
    ("PerformedProcedureStepDescription", X),
    ("PerformedProcedureStepEndDate", X),
    ("PerformedProcedureStepEndTime", X),
    ("PerformedProcedureStepID", X),
    ("PerformedProcedureStepStartDate", X),
    ("PerformedProcedureStepStartTime", X),
    ("PerformedStationAETitle", X),
    ("PerformedStationGeographicLocationCodeSequence", X),
    ("PerformedStationName", X),
    ("PerformedStationNameCodeSequence", X),
    ("PerformingPhysicianIdentificationSequence", X),
    ("PerformingPhysicianName", X),
    ("PersonAddress", X),
    ("PersonIdentificationCodeSequence", X),
    ("PersonName", X),
    ("PersonTelephoneNumbers", X),
    ("PhysicianApprovingInterpretation", X),
    ("PhysiciansOfRecord", X),
    ("PhysiciansOfRecordIdentificationSequence", X),
    ("PhysiciansReadingStudyIdentificationSequence", X),
    ("PlacerOrderNumberImagingServiceRequest", Z),
    ("PlateID", X),
    ("PreMedication", X),
    ("PregnancyStatus", X),
    ("ProtocolName", X),
    ("ReasonForTheImagingServiceRequest", X),
    ("ReasonForStudy", X),
    ("ReferencedDigitalSignatureSequence", X),
    ("ReferencedPatientAliasSequence", X),
    ("ReferencedPatientSequence", X),
    ("ReferencedPerformedProcedureStepSequence", X),
    ("ReferencedSOPInstanceMACSequence", X),
    ("ReferencedStudySequence", X),
    ("ReferringPhysicianAddress", X),
    ("ReferringPhysicianIdentificationSequence", X),
    ("ReferringPhysicianName", Z),
    ("ReferringPhysicianTelephoneNumbers", X),
    ("RegionOfResidence", X),
    ("RequestAttributesSequence", X),
    ("RequestedContrastAgent", X),
    ("RequestedProcedureComments", X),
    ("RequestedProcedureDescription", X),
    ("RequestedProcedureID", X),
    ("RequestedProcedureLocation", X),
    ("RequestingPhysician", X),
    ("RequestingService", X),
    ("ResponsibleOrganization", X),
    ("ResponsiblePerson", X),
    ("ResultsComments", X),
    ("ResultsDistributionListSequence", X),
    ("ResultsIDIssuer", X),
    ("ScheduledHumanPerformersSequence", X),
    ("ScheduledPatientInstitutionResidence", X),
    ("ScheduledPerformingPhysicianIdentificationSequence", X),
    ("ScheduledPerformingPhysicianName", X),
    ("ScheduledProcedureStepDescription", X),
    ("ScheduledProcedureStepEndDate", X),
    ("ScheduledProcedureStepEndTime", X),
    ("ScheduledProcedureStepLocation", X),
    ("ScheduledProcedureStepStartDate", X),
    ("ScheduledProcedureStepStartTime", X),
    ("ScheduledStationAETitle", X),
    ("ScheduledStationGeographicLocationCodeSequence", X),
    ("ScheduledStationName", X),
    ("ScheduledStationNameCodeSequence", X),
    ("ScheduledStudyLocation", X),
    ("ScheduledStudyLocationAETitle", X),
    ("SeriesDate", X),
    ("SeriesDescription", X),
    ("SeriesTime", X),
    ("ServiceEpisodeDescription", X),
    ("ServiceEpisodeID", X),
    ("SmokingStatus", X),
    ("SourceImageSequence", X),
    ("SpecialNeeds", X),
    ("StationName", X),
    ("StudyComments", X),
    ("StudyDate", Z),
    ("StudyDescription", X),
    ("StudyID", Z),
    ("StudyIDIssuer", X),
    ("StudyTime", Z),
    ("TextComments", X),
    ("TextString", X),
    ("TimezoneOffsetFromUTC", X),
    ("TopicAuthor", X),
    ("TopicKeywords", X),
    ("TopicSubject", X),
    ("TopicTitle", X),
    ("VerifyingObserverIdentificationCodeSequence", Z),
    ("VerifyingObserverName", D),
    ("VerifyingOrganization", X),
    ("VisitComments", X),
];

/// UI attributes that name a class or an encoding, not an instance: never replaced.
const CLASS_UIDS: &[&str] = &[
    "SOPClassUID",
    "ReferencedSOPClassUID",
    "MediaStorageSOPClassUID",
    "TransferSyntaxUID",
    "AffectedSOPClassUID",
    "RequestedSOPClassUID",
    "CodingSchemeUID",
    "RelatedGeneralSOPClassUID",
    "OriginalSpecializedSOPClassUID",
    "ReferencedSOPClassUIDInFile",
    "ReferencedTransferSyntaxUIDInFile",
    "ReferencedRelatedGeneralSOPClassUIDInFile",
    "PrivateInformationCreatorUID",
    "ImplementationClassUID",
    "ContextGroupExtensionCreatorUID",
    "RetrieveLocationUID",
];

fn resolve<'a>(names: &'a [&'a str]) -> impl Iterator<Item = Tag> + 'a {
    names.iter().filter_map(|n| {
        StandardDataDictionary
            .by_name(n)
            .map(|e| e.tag_range().inner())
    })
}

/// The basic profile's action for `tag`, if it has one.
pub(crate) fn basic_action(tag: Tag) -> Option<Action> {
    static TABLE: OnceLock<HashMap<Tag, Action>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        BASIC
            .iter()
            .filter_map(|(n, a)| resolve(&[n]).next().map(|t| (t, *a)))
            .collect()
    });
    // Curve data (50xx) and overlay comments/data (60xx,4000 / 60xx,3000) are repeating groups.
    if (0x5000..=0x50FF).contains(&tag.group())
        || ((0x6000..=0x60FF).contains(&tag.group())
            && (tag.element() == 0x4000 || tag.element() == 0x3000))
    {
        return Some(Action::Remove);
    }
    table.get(&tag).copied()
}

/// Whether a UI attribute names a class or syntax (kept) rather than an instance.
pub(crate) fn is_class_uid(tag: Tag) -> bool {
    static SET: OnceLock<Vec<Tag>> = OnceLock::new();
    SET.get_or_init(|| resolve(CLASS_UIDS).collect())
        .contains(&tag)
}

/// The tags the reference tool deletes (its whole "anonymization").
pub(crate) fn reference_removals() -> Vec<Tag> {
    resolve(&[
        "PatientBirthDate",
        "PatientAddress",
        "InstitutionName",
        "InstitutionAddress",
        "ReferringPhysicianName",
        "PerformingPhysicianName",
        "OperatorsName",
    ])
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_in_the_tables_is_known_to_the_dictionary() {
        let unknown: Vec<_> = BASIC
            .iter()
            .map(|(n, _)| *n)
            .chain(CLASS_UIDS.iter().copied())
            .filter(|n| StandardDataDictionary.by_name(n).is_none())
            .collect();
        assert!(unknown.is_empty(), "unknown keywords: {unknown:?}");
    }
}
