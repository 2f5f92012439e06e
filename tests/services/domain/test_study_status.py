from __future__ import annotations

import itertools

import pytest

from services.domain.study_status import (
    AiStatus,
    IllegalTransition,
    StudyStatus,
    next_ai_status,
    next_study_status,
)

pytestmark = pytest.mark.unit

S = StudyStatus
A = AiStatus

# The lifecycle spelled out independently of the product's table, so a changed rule fails here.
LEGAL_STUDY = {
    (S.RECEIVED, S.VALIDATED),
    (S.RECEIVED, S.QUARANTINED),
    (S.QUARANTINED, S.VALIDATED),
    (S.VALIDATED, S.UNREAD),
    (S.UNREAD, S.CLAIMED),
    (S.CLAIMED, S.UNREAD),
    (S.CLAIMED, S.REPORTED),
    (S.REPORTED, S.DELIVERED),
    (S.REPORTED, S.AMENDED),
    (S.DELIVERED, S.AMENDED),
    (S.AMENDED, S.DELIVERED),
    (S.AMENDED, S.AMENDED),
}
ILLEGAL_STUDY = sorted(set(itertools.product(S, S)) - LEGAL_STUDY)

LEGAL_AI = {
    (A.NONE, A.AI_PENDING),
    (A.NONE, A.AI_SKIPPED),
    (A.AI_PENDING, A.AI_DONE),
    (A.AI_PENDING, A.AI_FAILED),
    (A.AI_PENDING, A.AI_SKIPPED),
    (A.AI_FAILED, A.AI_PENDING),
    (A.AI_FAILED, A.AI_DONE),
    (A.AI_DONE, A.AI_PENDING),
    (A.AI_SKIPPED, A.AI_PENDING),
}
ILLEGAL_AI = sorted(set(itertools.product(A, A)) - LEGAL_AI)


def _id(pair: tuple[StudyStatus | AiStatus, StudyStatus | AiStatus]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


class TestNextStudyStatus:
    @pytest.mark.parametrize("pair", sorted(LEGAL_STUDY), ids=_id)
    def test_legal_transition_returns_target(self, pair: tuple[StudyStatus, StudyStatus]) -> None:
        current, target = pair
        assert next_study_status(current, target) is target

    @pytest.mark.parametrize("pair", ILLEGAL_STUDY, ids=_id)
    def test_illegal_transition_raises(self, pair: tuple[StudyStatus, StudyStatus]) -> None:
        current, target = pair
        with pytest.raises(IllegalTransition) as caught:
            next_study_status(current, target)
        assert caught.value.current == current.value
        assert caught.value.target == target.value

    def test_message_names_both_statuses(self) -> None:
        with pytest.raises(
            IllegalTransition, match=r"^A study cannot go from status UNREAD to REPORTED\.$"
        ):
            next_study_status(S.UNREAD, S.REPORTED)

    def test_signed_study_cannot_go_back_to_the_worklist(self) -> None:
        with pytest.raises(IllegalTransition):
            next_study_status(S.REPORTED, S.UNREAD)

    def test_quarantined_study_cannot_skip_validation(self) -> None:
        with pytest.raises(IllegalTransition):
            next_study_status(S.QUARANTINED, S.UNREAD)

    def test_every_status_is_reachable_from_received(self) -> None:
        reached, frontier = {S.RECEIVED}, [S.RECEIVED]
        while frontier:
            current = frontier.pop()
            for target in S:
                if (current, target) in LEGAL_STUDY and target not in reached:
                    reached.add(target)
                    frontier.append(target)
        assert reached == set(S)


class TestNextAiStatus:
    @pytest.mark.parametrize("pair", sorted(LEGAL_AI), ids=_id)
    def test_legal_transition_returns_target(self, pair: tuple[AiStatus, AiStatus]) -> None:
        current, target = pair
        assert next_ai_status(current, target) is target

    @pytest.mark.parametrize("pair", ILLEGAL_AI, ids=_id)
    def test_illegal_transition_raises(self, pair: tuple[AiStatus, AiStatus]) -> None:
        current, target = pair
        with pytest.raises(IllegalTransition) as caught:
            next_ai_status(current, target)
        assert (caught.value.current, caught.value.target) == (current.value, target.value)

    def test_message_says_ai_status(self) -> None:
        with pytest.raises(
            IllegalTransition, match=r"^A study cannot go from AI status NONE to AI_DONE\.$"
        ):
            next_ai_status(A.NONE, A.AI_DONE)

    def test_nothing_goes_back_to_none(self) -> None:
        for current in A:
            with pytest.raises(IllegalTransition):
                next_ai_status(current, A.NONE)
