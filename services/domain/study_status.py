"""The two state machines of a study: its reading lifecycle and its (advisory) AI status.

They are separate because AI is advisory: a study is on the worklist as soon as it is validated,
whatever its AI is doing, and an AI result may arrive while a reader already holds the study.
"""

from __future__ import annotations

from enum import StrEnum


class StudyStatus(StrEnum):
    """Where a study is in the reading lifecycle."""

    RECEIVED = "RECEIVED"
    VALIDATED = "VALIDATED"
    QUARANTINED = "QUARANTINED"
    UNREAD = "UNREAD"
    CLAIMED = "CLAIMED"
    REPORTED = "REPORTED"
    DELIVERED = "DELIVERED"
    AMENDED = "AMENDED"


class AiStatus(StrEnum):
    """What the AI models have done with a study."""

    NONE = "NONE"
    AI_PENDING = "AI_PENDING"
    AI_DONE = "AI_DONE"
    AI_FAILED = "AI_FAILED"
    AI_SKIPPED = "AI_SKIPPED"


class IllegalTransition(Exception):
    """A status change that the lifecycle does not allow."""

    def __init__(self, kind: str, current: str, target: str) -> None:
        super().__init__(f"A study cannot go from {kind} {current} to {target}.")
        self.current = current
        self.target = target


_S = StudyStatus
STUDY_TRANSITIONS: dict[StudyStatus, frozenset[StudyStatus]] = {
    _S.RECEIVED: frozenset({_S.VALIDATED, _S.QUARANTINED}),
    _S.QUARANTINED: frozenset({_S.VALIDATED}),  # an admin released it
    _S.VALIDATED: frozenset({_S.UNREAD}),
    _S.UNREAD: frozenset({_S.CLAIMED}),
    _S.CLAIMED: frozenset({_S.UNREAD, _S.REPORTED}),
    _S.REPORTED: frozenset({_S.DELIVERED, _S.AMENDED}),
    _S.DELIVERED: frozenset({_S.AMENDED}),
    _S.AMENDED: frozenset({_S.DELIVERED, _S.AMENDED}),
}

_A = AiStatus
AI_TRANSITIONS: dict[AiStatus, frozenset[AiStatus]] = {
    _A.NONE: frozenset({_A.AI_PENDING, _A.AI_SKIPPED}),
    _A.AI_PENDING: frozenset({_A.AI_DONE, _A.AI_FAILED, _A.AI_SKIPPED}),
    _A.AI_FAILED: frozenset({_A.AI_PENDING, _A.AI_DONE}),  # a replay may still succeed
    _A.AI_DONE: frozenset({_A.AI_PENDING}),  # a new model version ran
    _A.AI_SKIPPED: frozenset({_A.AI_PENDING}),
}


def next_study_status(current: StudyStatus, target: StudyStatus) -> StudyStatus:
    """Return ``target`` if the lifecycle allows moving there from ``current``, else raise."""
    if target not in STUDY_TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition("status", current.value, target.value)
    return target


def next_ai_status(current: AiStatus, target: AiStatus) -> AiStatus:
    """Return ``target`` if the AI status may move there from ``current``, else raise."""
    if target not in AI_TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition("AI status", current.value, target.value)
    return target
