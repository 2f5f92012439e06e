"""The values a reader fills into a template, their check, and the narrative text made from them.

The structured values are the source of truth; the findings and impression text that the PDF,
HL7 and FHIR renderings print are composed from them, so a structured report and its printed
text never disagree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.domain.report_template import TemplateDefinition, TemplateField

MAX_TEXT = 5000
DECISIONS = frozenset({"accept", "reject", "edit"})

_WORDS = {
    "zh-CN": {"colon": "：", "present": "可见", "absent": "未见", "ai": "AI", "sep": "；"},
    "en": {"colon": ": ", "present": "present", "absent": "absent", "ai": "AI", "sep": "; "},
}


class DraftInvalid(Exception):
    """Draft values that do not fit their template; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class AiSuggestion:
    """An AI finding offered to the reader, with the reader's decision once made."""

    finding_id: str
    label: str
    field_id: str | None
    decision: str | None = None  # None while the reader has not decided
    edited_value: str = ""


@dataclass(frozen=True)
class Narrative:
    """The printed text of a structured report."""

    findings: str
    impression: str


def _problem(field: TemplateField, value: Any) -> str | None:  # noqa: PLR0911 - one per kind
    if value is None:
        return None
    if field.kind == "text":
        ok = isinstance(value, str) and len(value) <= MAX_TEXT
        return None if ok else f"text of at most {MAX_TEXT} characters"
    if field.kind == "choice":
        return None if value in field.options else f"one of {list(field.options)}"
    if field.kind == "finding":
        ok = isinstance(value, dict) and set(value) <= {"present", "detail", "ai_finding_id"}
        ok = ok and value.get("present") in (True, False, None)
        return None if ok else "an object {present: true|false|null, detail: text}"
    if field.kind == "measurement":
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            return f"a number in {field.unit or 'its unit'}"
        low = field.minimum if field.minimum is not None else -math.inf
        high = field.maximum if field.maximum is not None else math.inf
        return None if low <= value <= high else f"a number between {low} and {high}"
    ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    if not ok or len(value) > field.max_items:
        return f"a list of at most {field.max_items} differential diagnoses"
    return None


def check_values(template: TemplateDefinition, values: Mapping[str, Any]) -> None:
    """Raise DraftInvalid naming every value that does not fit ``template``."""
    fields = template.fields()
    problems = [f"unknown field {key!r}" for key in values if key not in fields]
    for key, value in values.items():
        if key in fields and (why := _problem(fields[key], value)) is not None:
            problems.append(f"field {key!r} must be {why}")
    if problems:
        raise DraftInvalid(problems)


def _line(field: TemplateField, value: Any, words: dict[str, str]) -> str | None:
    colon = words["colon"]
    if field.kind == "finding":
        if value.get("present") is None:
            return None
        state = words["present"] if value["present"] else words["absent"]
        detail = str(value.get("detail") or "").strip()
        return f"{field.label}{colon}{state}" + (f"{words['sep']}{detail}" if detail else "")
    if field.kind == "measurement":
        return f"{field.label}{colon}{value:g}{(' ' + field.unit) if field.unit else ''}"
    if field.kind == "differentials":
        items = words["sep"].join(f"{n}. {v.strip()}" for n, v in enumerate(value, start=1))
        return f"{field.label}{colon}{items}" if items else None
    text = str(value).strip()
    return f"{field.label}{colon}{text}" if text else None


def _section_lines(
    template: TemplateDefinition, values: Mapping[str, Any], kinds: set[str], language: str
) -> list[str]:
    words = _WORDS[language]
    lines = []
    for section in template.sections:
        if section.kind not in kinds:
            continue
        for field in section.fields:
            value = values.get(field.id, field.default)
            if value is not None and (line := _line(field, value, words)):
                lines.append(line)
    return lines


def compose(
    template: TemplateDefinition, values: Mapping[str, Any], ai: list[AiSuggestion]
) -> Narrative:
    """Return the findings and impression text of a structured report.

    AI findings the reader accepted or edited and that no template field codes are listed
    after the findings, marked as AI-assisted; rejected and undecided ones are left out.
    """
    language = template.language
    words = _WORDS[language]
    findings = _section_lines(template, values, {"general", "exam_method", "findings"}, language)
    for item in ai:
        if item.field_id is None and item.decision in {"accept", "edit"}:
            text = item.edited_value.strip() if item.decision == "edit" else item.label
            findings.append(f"{text} ({words['ai']})")
    impression = _section_lines(template, values, {"impression", "recommendation"}, language)
    return Narrative("\n".join(findings), "\n".join(impression))


def apply_decision(value: Any, decision: str, edited_value: str) -> dict[str, Any]:
    """Return a coded finding's value after the reader decided on the AI finding behind it."""
    current = dict(value) if isinstance(value, dict) else {}
    if decision == "reject":
        return {**current, "present": False}
    if decision == "edit":
        return {**current, "present": True, "detail": edited_value}
    return {**current, "present": True}
