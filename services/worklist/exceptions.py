"""Worklist errors with the HTTP status they map to."""

from __future__ import annotations

from services.kit.errors import Conflict, InvalidInput, NotFound


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


class NothingToTakeOver(Conflict):
    """A takeover needs an item another reader holds."""

    code = "nothing_to_take_over"


class AssignedToAnother(Conflict):
    """The item was pushed to another reader."""

    code = "assigned_to_another"


class NotAReader(InvalidInput):
    """The chosen user is not an active radiologist of the reading hospital."""

    code = "not_a_reader"


class NoReaderAvailable(Conflict):
    """Push assignment found nobody with the subspecialty and free capacity."""

    code = "no_reader_available"


class ReaderNotFound(NotFound):
    """No such radiologist in the caller's hospital (or consortium, for admins)."""

    code = "reader_not_found"


class PriorNotFound(NotFound):
    """The study is not a prior of the worklist item's patient (or not in this consortium)."""

    code = "prior_not_found"
