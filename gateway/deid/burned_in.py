"""Instances whose pixels may show who the patient is: blocked from export unless allowed.

Annex E de-identifies attributes, not pixels. Text burned into the image (ultrasound and
secondary-capture screens, scanned documents) or a recognisable face survives every attribute
rule, so such instances are held back unless an administrator explicitly allows them (after
cleaning the pixels elsewhere) and the manifest records why.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

_IMAGE = "1.2.840.10008.5.1.4.1.1."
# SOP classes whose pixels typically carry burned-in text or recognisable features.
RISKY_SOP_CLASSES: dict[str, str] = {
    _IMAGE + "7": "secondary capture",
    _IMAGE + "7.1": "secondary capture (multi-frame single bit)",
    _IMAGE + "7.2": "secondary capture (multi-frame grayscale byte)",
    _IMAGE + "7.3": "secondary capture (multi-frame grayscale word)",
    _IMAGE + "7.4": "secondary capture (multi-frame true colour)",
    _IMAGE + "6": "ultrasound (retired)",
    _IMAGE + "6.1": "ultrasound",
    _IMAGE + "6.2": "enhanced ultrasound volume",
    _IMAGE + "3": "ultrasound multi-frame (retired)",
    _IMAGE + "3.1": "ultrasound multi-frame",
    _IMAGE + "104.1": "encapsulated PDF",
    _IMAGE + "104.2": "encapsulated CDA",
    _IMAGE + "77.1.1": "visible light endoscopy",
    _IMAGE + "77.1.1.1": "video endoscopy",
    _IMAGE + "77.1.4": "visible light photography",
    _IMAGE + "77.1.4.1": "video photography",
}


def burned_in_reason(dataset: Dataset) -> str | None:
    """Return why ``dataset`` may show identities in its pixels, or None if nothing suggests so."""
    if str(dataset.get("BurnedInAnnotation", "")).strip().upper() == "YES":
        return "BurnedInAnnotation is YES"
    if str(dataset.get("RecognizableVisualFeatures", "")).strip().upper() == "YES":
        return "RecognizableVisualFeatures is YES"
    sop_class = str(dataset.get("SOPClassUID", "")).strip()
    kind = RISKY_SOP_CLASSES.get(sop_class)
    if kind is not None:
        return f"SOP class {sop_class} ({kind}) usually carries burned-in text"
    return None
