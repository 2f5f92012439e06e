"""Persisted positions of feed followers; advanced in the same transaction as the work done."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.models import ChangeCursor


def position(session: Session, name: str) -> int:
    """Return the last fully handled sequence number of feed ``name`` (0 if never run)."""
    cursor = session.get(ChangeCursor, name)
    return cursor.position if cursor else 0


def advance(session: Session, name: str, to: int) -> None:
    """Move feed ``name`` forward to ``to`` (never backwards)."""
    cursor = session.get(ChangeCursor, name, with_for_update=True)
    if cursor is None:
        session.add(ChangeCursor(name=name, position=to))
    elif to > cursor.position:
        cursor.position = to
    session.flush()
