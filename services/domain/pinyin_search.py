"""Search keys for Chinese patient names: full pinyin ("zhangsan") and initials ("zs").

Readers type initials or pinyin on a Latin keyboard far more often than they type 张三. DICOM
Patient Name may hold an alphabetic group and an ideographic group (``Zhang^San=张三``); the
ideographic group wins when present, and Latin names give their own initials (``Zhang^San`` ->
``zs``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pypinyin import lazy_pinyin

_LATIN_WORD = re.compile(r"[a-z0-9]+")
_SEPARATORS = re.compile(r"[\^\s,.\-_]+")


@dataclass(frozen=True)
class NameKeys:
    """The lower-case search keys of one name."""

    pinyin: str
    initials: str


def _has_han(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def name_keys(patient_name: str) -> NameKeys:
    """Return the pinyin and initials of a DICOM patient name (empty strings for no name)."""
    groups = [g for g in patient_name.split("=") if g.strip()]
    name = next((g for g in groups if _has_han(g)), groups[0] if groups else "")
    if _has_han(name):
        syllables = [
            s.lower() for s in lazy_pinyin(_SEPARATORS.sub("", name), errors="ignore") if s
        ]
        letters = [s[0] for s in syllables]
        return NameKeys(pinyin="".join(syllables)[:400], initials="".join(letters)[:32])
    words = _LATIN_WORD.findall(name.lower())
    return NameKeys(pinyin="".join(words)[:400], initials="".join(w[0] for w in words)[:32])


def search_key(query: str) -> str:
    """Return the normalized form of a search box entry, to compare with the keys."""
    return _SEPARATORS.sub("", query.strip().lower())
