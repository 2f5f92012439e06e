"""Turn pydantic's validation errors into lines a person fixing a manifest understands."""

from __future__ import annotations

import difflib
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from services.kit.errors import InvalidInput


class ManifestError(InvalidInput):
    """A manifest file is missing, unreadable or invalid; ``problems`` lists each issue."""

    code = "invalid_manifest"

    def __init__(self, source: str, problems: list[str]) -> None:
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}", problems=problems)
        self.source = source
        self.problems = problems


def _field_names(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Every field name (and alias) reachable from ``model``: the vocabulary for suggestions."""
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(info.alias or name)
        stack: list[Any] = [info.annotation]
        while stack:
            current = stack.pop()
            if isinstance(current, type) and issubclass(current, BaseModel):
                names |= _field_names(current, seen)
            stack.extend(get_args(current))
    return names


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def describe(error: ValidationError, model: type[BaseModel]) -> list[str]:
    """Return one line per problem, with its place in the file and, for typos, a suggestion."""
    vocabulary = sorted(_field_names(model))
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and "[" in p))
        where = _where(loc)
        if item["type"] == "extra_forbidden":
            key = str(loc[-1]) if loc else ""
            close = difflib.get_close_matches(key, vocabulary, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(f"{where}: unknown key{hint}")
        elif item["type"] == "missing":
            problems.append(f"{where}: required, but missing")
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
            got = item.get("input")
            shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) else ""
            problems.append(f"{where}: {message}{shown}")
    return problems
