"""What the gateway tells the core about a received study (no DICOM objects, plain values)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SeriesFacts:
    """One series as the gateway saw it."""

    series_instance_uid: str
    orthanc_id: str | None
    modality: str
    body_part: str = ""
    description: str = ""
    instance_count: int = 0
    # Routing facts for model manifests (first instance's tags); empty when unknown.
    sop_class_uid: str = ""
    view_position: str = ""
    orientation: str = ""  # "axial" | "coronal" | "sagittal" from ImageOrientationPatient
    slice_thickness: float | None = None
    # Frames over all instances for enhanced (multi-frame) CT/MR; None: one per instance.
    slice_count: int | None = None


@dataclass(frozen=True)
class StudyFacts:
    """A stable study as the gateway saw it, with the patient fields read from Orthanc (UTF-8)."""

    study_instance_uid: str
    orthanc_id: str | None
    patient_id: str
    patient_name: str
    patient_sex: str
    patient_birth_date: str
    accession_number: str
    study_date: str
    description: str
    series: tuple[SeriesFacts, ...] = field(default_factory=tuple)
    # Patient type and urgency sources (services/domain/patient_type.py); empty when unknown:
    # a value from the order or upload, Patient's Current Location (0038,0300), Admission ID
    # (0038,0010) and Requested Procedure Priority (0040,1003).
    patient_type: str = ""
    patient_location: str = ""
    admission_id: str = ""
    requested_priority: str = ""
    # Urgency declared at upload (stat / urgent / routine); it wins over requested_priority.
    urgency: str = ""

    @property
    def modalities(self) -> tuple[str, ...]:
        """Return the distinct modalities of the study's series, in a stable order."""
        return tuple(sorted({s.modality for s in self.series if s.modality}))

    @property
    def instance_count(self) -> int:
        """Return the number of instances over all series."""
        return sum(s.instance_count for s in self.series)


# Character sets a DICOM node may be declared to really send (old devices label GBK bytes as
# ISO_IR 100): the gateway relabels such files before Orthanc decodes them.
CHARACTER_SET_OVERRIDES = frozenset({"GB18030", "GBK", "ISO_IR 192"})
