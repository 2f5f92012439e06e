"""One gate for every instance entering Orthanc: validate, namespace the patient, fix the charset.

STOW-RS and the gateway's DICOM SCP both call :func:`admit`, so the same rules hold whichever
way a clinic sends a study. What comes out is exactly the device's bytes except PatientID (put
in the organization's namespace), IssuerOfPatientID (filled when empty) and, for DICOM nodes
with a character-set override, SpecificCharacterSet.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from gateway.ingest import patient_namespace
from gateway.ingest.buffer_file import Buffer
from gateway.ingest.rewrite import Edits, RewriteError, ValueTooLong, rewrite
from gateway.ingest.validation import Verdict, inspect_instance
from services.contracts.ai_results import OUTPUT_MODALITIES, is_radbridge_output_series
from services.contracts.ingest import CHARACTER_SET_OVERRIDES

# DICOM defined terms a node's override may name (GB18030 is a superset of GBK and GB2312).
CHARSET_OVERRIDES = CHARACTER_SET_OVERRIDES  # one list, kept with the ingest contract


@dataclass(frozen=True)
class Sender:
    """The organization an instance is stored for, and how its devices encode text."""

    organization_id: uuid.UUID
    patient_id_issuer: str
    charset_override: str = ""

    def __post_init__(self) -> None:
        if self.charset_override and self.charset_override not in CHARSET_OVERRIDES:
            raise ValueError(
                f"character set override must be one of {sorted(CHARSET_OVERRIDES)},"
                f" not {self.charset_override!r}"
            )


@dataclass(frozen=True)
class Admitted:
    """The verdict on one instance and, when it is acceptable, the bytes to store."""

    verdict: Verdict
    data: bytes = b""


def admit(data: Buffer, sender: Sender) -> Admitted:
    """Check ``data`` and return the bytes Orthanc may store, or the reason it may not."""
    inspection = inspect_instance(data)
    verdict = inspection.verdict
    if not verdict.ok:
        return Admitted(verdict)
    common = (verdict.sop_class_uid, verdict.sop_instance_uid, verdict.study_instance_uid)
    header = inspection.header
    modality = str(header.get("Modality") or "") if header is not None else ""
    if (  # the description is decoded only where it can matter (its charset costs)
        header is not None
        and modality.strip().upper() in OUTPUT_MODALITIES
        and is_radbridge_output_series(modality, str(header.get("SeriesDescription") or ""))
    ):  # only RadBridge writes these; ingest leaves them out of the study and viewers trust them
        return Admitted(
            Verdict(
                "reserved_series",
                "The series is labelled as RadBridge's own output"
                f" ({header.get('SeriesDescription')}); send it with another series description.",
                *common,
            )
        )
    edits = Edits(
        patient_id_prefix=patient_namespace.prefix(sender.organization_id),
        issuer_if_empty=sender.patient_id_issuer,
        charset_override=sender.charset_override or None,
    )
    try:
        out = rewrite(data, edits, inspection.header)
    except ValueTooLong as exc:
        return Admitted(Verdict("patient_id_too_long", str(exc), *common))
    except RewriteError as exc:
        return Admitted(Verdict("unsupported_encoding", f"Cannot store this file: {exc}.", *common))
    return Admitted(verdict, out)
