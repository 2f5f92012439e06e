"""Worklist errors with the HTTP status they map to."""

from __future__ import annotations

from services.kit.errors import Conflict, NotFound


class WorklistItemNotFound(NotFound):
    """No such item on a worklist the caller can see."""

    code = "worklist_item_not_found"


class AlreadyClaimed(Conflict):
    """Another reader holds the item."""

    code = "already_claimed"


class NotClaimedByYou(Conflict):
    """The action needs the caller to hold the item's claim."""

    code = "not_claimed_by_you"


class AlreadyReported(Conflict):
    """The item's study is reported; there is nothing left to claim."""

    code = "already_reported"
