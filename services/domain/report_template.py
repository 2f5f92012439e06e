"""Structured report templates: their shape, and the check every template passes before use.

The shape follows IHE MRRT (sections holding coded fields) laid out as the Chinese report is
read: general data (一般资料), exam and method (检查方法), findings (影像所见), impression
(诊断意见, at most three differentials) and recommendation (建议).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.domain.clinical_codes import Concept, resolve

SECTION_ORDER = ("general", "exam_method", "findings", "impression", "recommendation")
FIELD_KINDS = frozenset({"text", "choice", "finding", "measurement", "differentials"})
MAX_DIFFERENTIALS = 3
LANGUAGES = frozenset({"zh-CN", "en"})


class TemplateInvalid(Exception):
    """A template that cannot be used; ``problems`` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class TemplateField:
    """One fill-in field; ``concept`` codes a finding or measurement."""

    id: str
    kind: str
    label: str
    concept: Concept | None = None
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    options: tuple[str, ...] = ()
    max_items: int = MAX_DIFFERENTIALS
    default: Any = None
    ai_codes: tuple[str, ...] = ()  # model output codes this field receives, besides its own

    def takes_ai_code(self, code: str) -> bool:
        """Return whether an AI finding with ``code`` pre-fills this field."""
        own = self.concept.code if self.concept else None
        return self.kind == "finding" and (code == own or code in self.ai_codes)


@dataclass(frozen=True)
class TemplateSection:
    """One section of the report layout."""

    id: str
    kind: str
    title: str
    fields: tuple[TemplateField, ...]


@dataclass(frozen=True)
class TemplateDefinition:
    """A checked template, ready to write a report from."""

    key: str
    title: str
    language: str
    modalities: tuple[str, ...]
    body_part: str
    procedure: Concept | None
    sections: tuple[TemplateSection, ...]

    def fields(self) -> dict[str, TemplateField]:
        """Return every field by its id."""
        return {f.id: f for s in self.sections for f in s.fields}

    def section_of(self, field_id: str) -> TemplateSection:
        """Return the section holding ``field_id``."""
        return next(s for s in self.sections if any(f.id == field_id for f in s.fields))


class _Checker:
    """Collects every problem of one template, so an admin fixes them all in one go."""

    def __init__(self, vocabulary: Mapping[tuple[str, str], str]) -> None:
        self.vocabulary = vocabulary
        self.problems: list[str] = []

    def concept(self, where: str, raw: Any) -> Concept | None:
        if raw is None:
            return None
        if not isinstance(raw, dict) or not {"system", "code"} <= raw.keys():
            self.problems.append(f"{where}: a code needs 'system' and 'code'")
            return None
        concept, problem = resolve(self.vocabulary, str(raw["system"]), str(raw["code"]))
        if problem:
            self.problems.append(f"{where}: {problem}")
        return concept

    def field(self, where: str, raw: dict[str, Any]) -> TemplateField | None:
        kind, field_id = raw.get("kind"), raw.get("id")
        if kind not in FIELD_KINDS or not isinstance(field_id, str) or not field_id:
            self.problems.append(
                f"{where}: a field needs an 'id' and a kind in {sorted(FIELD_KINDS)}"
            )
            return None
        where = f"{where} field {field_id!r}"
        concept = self.concept(where, raw.get("code"))
        if kind in {"finding", "measurement"} and raw.get("code") is None:
            self.problems.append(f"{where}: a {kind} must be coded (RadLex or SNOMED CT)")
        options = tuple(str(o) for o in raw.get("options", ()))
        if kind == "choice" and not options:
            self.problems.append(f"{where}: a choice needs options")
        max_items = int(raw.get("max_items", MAX_DIFFERENTIALS))
        if kind == "differentials" and not 1 <= max_items <= MAX_DIFFERENTIALS:
            self.problems.append(f"{where}: at most {MAX_DIFFERENTIALS} differentials")
        return TemplateField(
            id=field_id,
            kind=str(kind),
            label=str(raw.get("label", field_id)),
            concept=concept,
            unit=str(raw.get("unit", "")),
            minimum=raw.get("min"),
            maximum=raw.get("max"),
            options=options,
            max_items=max_items,
            default=raw.get("default"),
            ai_codes=tuple(str(c) for c in raw.get("ai_codes", ())),
        )

    def section(self, raw: dict[str, Any]) -> TemplateSection:
        sid, kind = str(raw.get("id", "")), str(raw.get("kind", ""))
        where = f"section {sid or '?'}"
        if kind not in SECTION_ORDER:
            self.problems.append(f"{where}: kind must be one of {list(SECTION_ORDER)}")
        fields = [self.field(where, f) for f in raw.get("fields", []) if isinstance(f, dict)]
        return TemplateSection(sid, kind, str(raw.get("title", sid)), tuple(f for f in fields if f))

    def layout(self, sections: list[TemplateSection]) -> None:
        kinds = [s.kind for s in sections]
        if kinds != list(SECTION_ORDER):
            self.problems.append(
                f"sections must be, in this order: {', '.join(SECTION_ORDER)} (got {kinds})"
            )
        ids = [f.id for s in sections for f in s.fields]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            self.problems.append(f"field ids must be unique: {duplicates}")


def parse_template(
    data: Mapping[str, Any], vocabulary: Mapping[tuple[str, str], str]
) -> TemplateDefinition:
    """Return the checked template ``data``, or raise TemplateInvalid listing every problem."""
    checker = _Checker(vocabulary)
    key, language = str(data.get("key", "")), str(data.get("language", ""))
    if not key or not key.replace("-", "").isalnum():
        checker.problems.append("key must be letters, digits and '-' (e.g. 'chest-xr')")
    if language not in LANGUAGES:
        checker.problems.append(f"language must be one of {sorted(LANGUAGES)}")
    exam = data.get("exam") if isinstance(data.get("exam"), dict) else {}
    assert isinstance(exam, dict)
    procedure = checker.concept("exam", exam.get("code"))
    sections = [checker.section(s) for s in data.get("sections", []) if isinstance(s, dict)]
    checker.layout(sections)
    if checker.problems:
        raise TemplateInvalid(checker.problems)
    return TemplateDefinition(
        key=key,
        title=str(data.get("title", key)),
        language=language,
        modalities=tuple(str(m) for m in exam.get("modalities", ())),
        body_part=str(exam.get("body_part", "")),
        procedure=procedure,
        sections=tuple(sections),
    )
