"""The Annex E profile as data: Table E.1-1 rows and the action each option resolves to.

The rows live in ``annex_e.tsv`` beside this module, so the table can be read and reviewed
against the standard without reading code. Combined actions (``X/Z/D``) mean "the first one
unless the IOD needs a later one"; without the IOD's type for each attribute we take the
action that always keeps the object conformant (D over Z over X), except that sequences prefer
an empty sequence to invented items.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources

TABLE_FILE = "annex_e.tsv"
DATE_VRS = frozenset({"DA", "DT", "TM"})


class Action(StrEnum):
    """What happens to one attribute."""

    KEEP = "K"
    REMOVE = "X"
    ZERO = "Z"
    DUMMY = "D"
    REMAP_UID = "U"
    SHIFT_DATE = "C"  # the Modified Dates option's "clean": shift by the patient's offset


@dataclass(frozen=True)
class Options:
    """Which Annex E options apply on top of the Basic Profile."""

    retain_patient_characteristics: bool = True
    modified_dates: bool = True


@dataclass(frozen=True)
class Rule:
    """One row of Table E.1-1: the Basic action and the two options' actions."""

    tag: str  # "0010,0010" or a repeating-group mask such as "60xx,3000"
    keyword: str
    basic: str
    patient_characteristics: str = ""
    modified_dates: str = ""

    def code(self, options: Options) -> str:
        """Return the table's action code under ``options`` (later options win, as in E.3)."""
        code = self.basic
        if options.retain_patient_characteristics and self.patient_characteristics:
            code = self.patient_characteristics
        if options.modified_dates and self.modified_dates:
            code = self.modified_dates
        return code

    def action(self, options: Options, vr: str) -> Action:
        """Return the concrete action for an element of this attribute with ``vr``."""
        code = self.code(options)
        if code == "C" and vr not in DATE_VRS:
            # We cannot prove free text clean of identities, so "clean" falls back to the
            # Basic Profile's action: the text is removed rather than kept unchecked.
            code = self.basic
        return resolve(code, is_sequence=vr == "SQ")


def resolve(code: str, *, is_sequence: bool) -> Action:
    """Turn a table code such as ``X/Z/D`` or ``X/Z/U*`` into one action."""
    choices = code.split("/")
    if "U*" in choices:
        return Action.KEEP  # keep the sequence; the UIDs inside are remapped by their own rows
    if is_sequence and "Z" in choices:
        return Action.ZERO
    for preferred in ("D", "Z", "X", "K", "C", "U"):
        if preferred in choices:
            return Action(preferred)
    raise ValueError(f"unknown Annex E action code {code!r}")


class ProfileTable:
    """Rules by tag, with repeating groups (50xx curves, 60xx overlays) matched by mask."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = tuple(rules)
        self._exact: dict[int, Rule] = {}
        self._masked: list[tuple[int, int, Rule]] = []  # (group high byte, element or -1, rule)
        for rule in rules:
            group, element = rule.tag.upper().split(",")
            if "X" in group:
                elem = -1 if "X" in element else int(element, 16)
                self._masked.append((int(group[:2], 16), elem, rule))
            else:
                self._exact[int(group + element, 16)] = rule

    def lookup(self, tag: int) -> Rule | None:
        """Return the rule for ``tag``, or None if Table E.1-1 does not list it."""
        rule = self._exact.get(tag)
        if rule is not None:
            return rule
        group, element = tag >> 16, tag & 0xFFFF
        if group % 2:  # private groups are handled separately (always removed)
            return None
        for high, elem, masked in self._masked:
            if group >> 8 == high and elem in (-1, element):
                return masked
        return None

    def __len__(self) -> int:
        return len(self.rules)


def parse_table(text: str) -> list[Rule]:
    """Parse the TSV form of the table (comment lines start with '#')."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    rows = csv.DictReader(lines, delimiter="\t")
    return [
        Rule(
            tag=row["tag"].strip(),
            keyword=row["keyword"].strip(),
            basic=row["basic"].strip(),
            patient_characteristics=(row.get("patient_characteristics") or "").strip(),
            modified_dates=(row.get("modified_dates") or "").strip(),
        )
        for row in rows
    ]


@lru_cache
def annex_e_table() -> ProfileTable:
    """Return the packaged Table E.1-1 rows."""
    text = resources.files("gateway.deid").joinpath(TABLE_FILE).read_text(encoding="utf-8")
    return ProfileTable(parse_table(text))
