"""The template library shipped with RadBridge: JSON files beside this module, checked on load.

Files are ``templates/<key>.<language>.json``; ``templates/vocabulary.json`` lists the codes
templates may use. A file with an unknown or mistyped code refuses to load, naming the file,
the field and the code.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.domain.report_template import TemplateDefinition, TemplateInvalid, parse_template

LIBRARY_DIR = Path(__file__).resolve().parent / "templates"
VOCABULARY_FILE = "vocabulary.json"


@dataclass(frozen=True)
class LibraryTemplate:
    """One shipped template file, checked."""

    key: str
    language: str
    version: int
    title: str
    definition: dict[str, Any]


@functools.lru_cache(maxsize=4)
def vocabulary(folder: Path = LIBRARY_DIR) -> dict[tuple[str, str], str]:
    """Return the codes templates may use: ``(system, code) -> display``."""
    data = json.loads((folder / VOCABULARY_FILE).read_text(encoding="utf-8"))
    return {(c["system"], c["code"]): c["display"] for c in data["concepts"]}


def check(data: dict[str, Any], folder: Path = LIBRARY_DIR) -> TemplateDefinition:
    """Return the checked template ``data`` (raises TemplateInvalid)."""
    return parse_template(data, vocabulary(folder))


def load_library(folder: Path = LIBRARY_DIR) -> list[LibraryTemplate]:
    """Read and check every template file of ``folder``; raise TemplateInvalid on a bad one."""
    templates = []
    for path in sorted(folder.glob("*.json")):
        if path.name == VOCABULARY_FILE:
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        try:
            definition = check(data, folder)
        except TemplateInvalid as exc:
            raise TemplateInvalid([f"{path.name}: {p}" for p in exc.problems]) from exc
        templates.append(
            LibraryTemplate(
                definition.key,
                definition.language,
                int(data.get("version", 1)),
                definition.title,
                data,
            )
        )
    return templates
