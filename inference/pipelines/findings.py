"""What a pipeline hands back: findings not yet stored, in the product's two languages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["normal", "significant", "critical"]
SEVERITIES: tuple[Severity, ...] = ("normal", "significant", "critical")


@dataclass(frozen=True)
class FindingDraft:
    """One AI finding about a study, before it is recorded against a job.

    Attributes
    ----------
    code
        Stable machine code, e.g. ``"image-quality-retake"``; unique per job.
    label_en, label_zh
        What a reader sees, in English and Simplified Chinese.
    score
        The model's score behind the finding, 0..1.
    severity
        ``"normal"``, ``"significant"`` or ``"critical"``; drives worklist priority.
    detail
        JSON-serialisable measures and reasons (no patient data).
    """

    code: str
    label_en: str
    label_zh: str
    score: float
    severity: Severity
    detail: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must lie in 0..1, got {self.score}")
