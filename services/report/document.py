"""What a signed report PDF shows: a plain, immutable snapshot built by the report service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, get_args

Language = Literal["zh-CN", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)


@dataclass(frozen=True, slots=True)
class AiFindingLine:
    """One AI result quoted in the report, always attributed to its model and version."""

    model_name: str
    model_version: str
    summary: str


@dataclass(frozen=True, slots=True)
class KeyImage:
    """An image the reader chose to print with the report (JPEG or PNG bytes)."""

    data: bytes
    caption: str


@dataclass(frozen=True, slots=True)
class ReportDocument:
    """A signed radiology report, ready to render.

    ``sex`` is the DICOM code (``M``, ``F``, ``O``); any other value is printed as given.
    ``age`` is a DICOM age string (``045Y``, ``006M``) or free text; when it is ``None`` the
    ``birth_date`` is printed instead. ``signed_at`` must be timezone-aware and in the zone the
    reader expects (the clinic's), because the signature time is printed as given.
    """

    report_id: str
    language: Language
    hospital_name: str
    clinic_name: str
    patient_name: str
    patient_id: str
    sex: str
    accession: str
    modality: str
    study_date: date
    exam_description: str
    findings: str
    impression: str
    author_name: str
    signed_at: datetime
    age: str | None = None
    birth_date: date | None = None
    ai_findings: tuple[AiFindingLine, ...] = field(default_factory=tuple)
    # The reading hospital's letterhead: lines under its name (address, phone) and its logo.
    letterhead_lines: tuple[str, ...] = ()
    logo: bytes | None = None
    # Where the clinic and the patient can see the images online (云胶片): printed as a QR code.
    images_url: str | None = None
    key_images: tuple[KeyImage, ...] = ()
    # Double signing (双签): the senior who reviewed and countersigned, and when (tz-aware).
    reviewer_name: str = ""
    reviewed_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, got {self.language!r}")
        if self.signed_at.tzinfo is None or self.signed_at.utcoffset() is None:
            raise ValueError("signed_at must be timezone-aware")
