"""Push assignment: which reader gets a new item, by subspecialty and current load."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Subspecialty(StrEnum):
    """Reading subspecialties a reader profile may list."""

    NEURO = "neuro"
    CHEST = "chest"
    ABDOMEN = "abdomen"
    MSK = "msk"
    BREAST = "breast"
    GENERAL = "general"


_WORDS: tuple[tuple[Subspecialty, tuple[str, ...]], ...] = (
    (Subspecialty.NEURO, ("HEAD", "BRAIN", "SKULL", "NECK", "SPINE", "头", "颅", "脑")),
    (Subspecialty.BREAST, ("BREAST", "乳腺")),
    (Subspecialty.CHEST, ("CHEST", "LUNG", "THORAX", "胸", "肺")),
    (Subspecialty.ABDOMEN, ("ABDOMEN", "PELVIS", "LIVER", "KIDNEY", "腹", "盆腔", "肝", "肾")),
    (
        Subspecialty.MSK,
        ("KNEE", "HIP", "SHOULDER", "ANKLE", "WRIST", "HAND", "FOOT", "ELBOW", "膝", "骨"),
    ),
)


def subspecialty_for(*, modality: str, body_part: str, description: str = "") -> Subspecialty:
    """Return the subspecialty an exam belongs to (GENERAL when nothing points elsewhere)."""
    if "MG" in modality.upper().split("/"):
        return Subspecialty.BREAST
    text = f"{body_part} {description}".upper()
    for subspecialty, words in _WORDS:
        if any(word in text for word in words):
            return subspecialty
    return Subspecialty.GENERAL


@dataclass(frozen=True)
class ReaderLoad:
    """A reader who accepts pushed items, with their subspecialties and open item count."""

    user_id: uuid.UUID
    username: str
    subspecialties: frozenset[str]
    open_items: int
    max_open_items: int


def pick_reader(readers: Sequence[ReaderLoad], subspecialty: Subspecialty) -> uuid.UUID | None:
    """Return the least-loaded reader with capacity who reads ``subspecialty``.

    Without such a specialist, the least-loaded reader with capacity listing ``general``; with
    none either, None (the item stays in the shared pull queue). Ties go to the username.
    """
    free = [r for r in readers if r.open_items < r.max_open_items]
    for wanted in (subspecialty.value, Subspecialty.GENERAL.value):
        fitting = [r for r in free if wanted in r.subspecialties]
        if fitting:
            return min(fitting, key=lambda r: (r.open_items, r.username)).user_id
    return None
