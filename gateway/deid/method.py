"""Record in the dataset that and how it was de-identified (PS3.15 E.1.1 and E.3)."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from gateway.deid.profile import Options

METHOD_TEXT = "RadBridge PS3.15 Annex E"
BASIC_PROFILE = ("113100", "Basic Application Confidentiality Profile")
MODIFIED_DATES = ("113107", "Retain Longitudinal Temporal Information Modified Dates Option")
PATIENT_CHARACTERISTICS = ("113108", "Retain Patient Characteristics Option")


def method_codes(options: Options) -> list[tuple[str, str]]:
    """Return the DCM codes of the profile and the options applied."""
    codes = [BASIC_PROFILE]
    if options.modified_dates:
        codes.append(MODIFIED_DATES)
    if options.retain_patient_characteristics:
        codes.append(PATIENT_CHARACTERISTICS)
    return codes


def _code_item(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = meaning
    return item


def mark_deidentified(dataset: Dataset, options: Options) -> None:
    """Set Patient Identity Removed, De-identification Method and its code sequence.

    Values a previous de-identifier left are kept and ours appended, as E.1.1 asks.
    """
    dataset.PatientIdentityRemoved = "YES"
    previous = dataset.get("DeidentificationMethod")
    methods = list(previous) if isinstance(previous, MultiValue) else [previous] if previous else []
    if METHOD_TEXT not in methods:
        methods.append(METHOD_TEXT)
    dataset.DeidentificationMethod = methods if len(methods) > 1 else methods[0]
    codes = Sequence(list(dataset.get("DeidentificationMethodCodeSequence", [])))
    present = {
        (str(i.get("CodeValue", "")), str(i.get("CodingSchemeDesignator", ""))) for i in codes
    }
    for value, meaning in method_codes(options):
        if (value, "DCM") not in present:
            codes.append(_code_item(value, meaning))
    dataset.DeidentificationMethodCodeSequence = codes
    if options.modified_dates:
        dataset.LongitudinalTemporalInformationModified = "MODIFIED"
