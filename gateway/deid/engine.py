"""Apply the Basic Application Level Confidentiality Profile to one pydicom dataset.

Every element, at every depth, is looked up in Table E.1-1 and handled by its action. What the
table does not list is kept, with four conservative exceptions: private elements are removed
(no Retain Safe Private option), person names are emptied, instance UIDs are remapped and, with
the Modified Dates option, dates are shifted. Patient ID and name become the consortium's
pseudonym, so one patient's studies stay linked inside an export.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom._uid_dict import UID_dictionary
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

from gateway.deid.dates import shift_da, shift_dt
from gateway.deid.keys import ConsortiumKey, PatientRef
from gateway.deid.method import mark_deidentified
from gateway.deid.profile import Action, Options, ProfileTable, annex_e_table

DUMMY_TEXT = "DEIDENTIFIED"
_DUMMIES: dict[str, object] = {
    "DA": "19000101",
    "DT": "19000101000000",
    "TM": "000000",
    "AS": "000Y",
    "IS": "0",
    "DS": "0",
}
_NUMERIC_VRS = frozenset({"US", "SS", "UL", "SL", "UV", "SV", "FL", "FD"})
_BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})
# Unlisted UIDs that name a standard thing (a terminology, a class), not an instance.
_UID_KEYWORDS_KEPT = frozenset(
    {"CodingSchemeUID", "MappingResourceUID", "ContextGroupExtensionCreatorUID"}
)
# File meta elements naming the sender.
_META_REMOVED = (0x00020016, 0x00020017, 0x00020018, 0x00020100, 0x00020102)


@dataclass(frozen=True)
class DeidResult:
    """The de-identified identity of one instance (no original values)."""

    patient_pseudonym: str
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    accession_pseudonym: str = ""


@dataclass
class _Context:
    key: ConsortiumKey
    shift_days: int
    options: Options
    remapped: dict[str, str] = field(default_factory=dict)

    def uid(self, value: str) -> str:
        text = value.strip()
        if not text:
            return text
        if text not in self.remapped:
            self.remapped[text] = self.key.uid(text)
        return self.remapped[text]


def patient_of(dataset: Dataset, issuer: str = "") -> PatientRef:
    """Return the patient a dataset belongs to; ``issuer`` overrides an empty/untrusted tag."""
    issuer = issuer or str(dataset.get("IssuerOfPatientID", "")).strip()
    patient_id = str(dataset.get("PatientID", "")).strip()
    if not patient_id:  # no identity to link: each study becomes its own patient
        patient_id = "study:" + str(dataset.get("StudyInstanceUID", "")).strip()
    return PatientRef(issuer, patient_id)


class Deidentifier:
    """De-identify datasets in place for one consortium."""

    def __init__(
        self, key: ConsortiumKey, options: Options | None = None, table: ProfileTable | None = None
    ) -> None:
        self.key = key
        self.options = options or Options()
        self.table = table or annex_e_table()

    def deidentify(self, dataset: Dataset, *, patient_issuer: str = "") -> DeidResult:
        """Replace identifying attributes of ``dataset`` (and its file meta) in place."""
        patient = patient_of(dataset, patient_issuer)
        accession = str(dataset.get("AccessionNumber", "")).strip()
        ctx = _Context(self.key, self.key.date_shift_days(patient), self.options)
        dataset.remove_private_tags()
        self._clean(dataset, ctx)
        pseudonym = self.key.patient_pseudonym(patient)
        dataset.PatientID = pseudonym
        dataset.PatientName = pseudonym
        accession_pseudonym = self.key.accession_pseudonym(patient, accession) if accession else ""
        if "AccessionNumber" in dataset:
            dataset.AccessionNumber = accession_pseudonym
        mark_deidentified(dataset, self.options)
        _clean_file_meta(dataset, ctx)
        return DeidResult(
            patient_pseudonym=pseudonym,
            study_instance_uid=str(dataset.get("StudyInstanceUID", "")),
            series_instance_uid=str(dataset.get("SeriesInstanceUID", "")),
            sop_instance_uid=str(dataset.get("SOPInstanceUID", "")),
            sop_class_uid=str(dataset.get("SOPClassUID", "")),
            accession_pseudonym=accession_pseudonym,
        )

    def action_for(self, element: DataElement) -> Action:
        """Return what happens to ``element`` (listed in the table or not)."""
        rule = self.table.lookup(int(element.tag))
        if rule is not None:
            return rule.action(self.options, element.VR)
        return _unlisted_action(element, self.options)

    def _clean(self, dataset: Dataset, ctx: _Context) -> None:
        for element in list(dataset):
            if element.tag.is_private or element.tag.element == 0:
                del dataset[element.tag]  # private data, and group lengths we would falsify
                continue
            self._apply(dataset, element, self.action_for(element), ctx)

    def _apply(self, dataset: Dataset, element: DataElement, action: Action, ctx: _Context) -> None:
        if action is Action.REMOVE:
            del dataset[element.tag]
        elif action is Action.ZERO or (
            action is Action.DUMMY
            and element.VR == "SQ"
            and element.keyword.endswith("CodeSequence")
        ):
            element.value = element.empty_value
        elif element.VR == "SQ":  # KEEP and DUMMY sequences: clean every item
            for item in element.value:
                self._clean(item, ctx)
        elif action is Action.DUMMY:
            element.value = _dummy(element, ctx)
        elif action is Action.REMAP_UID:
            element.value = _map_values(element.value, ctx.uid)
        elif action is Action.SHIFT_DATE:
            _shift(element, ctx.shift_days)


def _unlisted_action(element: DataElement, options: Options) -> Action:
    vr = element.VR
    if vr == "PN":
        return Action.ZERO
    if vr == "UI":
        return Action.REMAP_UID if _is_instance_uid(element) else Action.KEEP
    if vr in ("DA", "DT") and options.modified_dates:
        return Action.SHIFT_DATE
    return Action.KEEP


def _is_instance_uid(element: DataElement) -> bool:
    keyword = element.keyword
    if keyword.endswith(
        ("ClassUID", "ClassUIDInFile", "TransferSyntaxUID", "TransferSyntaxUIDInFile")
    ):
        return False
    if keyword in _UID_KEYWORDS_KEPT:
        return False
    values = element.value if isinstance(element.value, MultiValue) else [element.value]
    return any(str(v).strip() and str(v).strip() not in UID_dictionary for v in values)


def _map_values(value: object, mapper: object) -> object:
    assert callable(mapper)
    if isinstance(value, MultiValue | list):
        return [mapper(str(v)) for v in value]
    return mapper(str(value)) if value not in (None, "") else value


def _shift(element: DataElement, days: int) -> None:
    if element.VR == "DA":
        element.value = _map_values(element.value, lambda v: shift_da(v, days))
    elif element.VR == "DT":
        element.value = _map_values(element.value, lambda v: shift_dt(v, days))
    # TM: whole-day shifts leave the time of day as it was.


def _dummy(element: DataElement, ctx: _Context) -> object:
    vr = element.VR
    if vr == "UI":
        return _map_values(element.value, ctx.uid)
    if vr in _NUMERIC_VRS:
        return 0
    if vr in _BINARY_VRS:
        return b""
    if vr in ("DA", "DT") and ctx.options.modified_dates:
        _shift(element, ctx.shift_days)
        return element.value
    return _DUMMIES.get(vr, DUMMY_TEXT)


def _clean_file_meta(dataset: Dataset, ctx: _Context) -> None:
    meta = getattr(dataset, "file_meta", None)
    if meta is None:
        meta = dataset.file_meta = FileMetaDataset()
    for tag in _META_REMOVED:
        if tag in meta:
            del meta[tag]
    if "SOPInstanceUID" in dataset:
        meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    if "SOPClassUID" in dataset:
        meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "RADBRIDGE_DEID"
    del ctx  # the meta holds no other instance UIDs
