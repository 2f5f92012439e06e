"""Critical-value errors."""

from __future__ import annotations

from services.kit.errors import Conflict, InvalidInput, NotFound


class CriticalResultNotFound(NotFound):
    """No critical result with that id that the caller may see."""

    code = "critical_result_not_found"


class UnknownCriticalValue(InvalidInput):
    """The code is not on the consortium's critical-value list."""

    code = "unknown_critical_value"


class CriticalValueExists(Conflict):
    """The consortium's list already has that code."""

    code = "critical_value_exists"


class NotYourClinic(NotFound):
    """Only the sending clinic acknowledges; others are told the result does not exist."""

    code = "critical_result_not_found"


class CallInTheFuture(InvalidInput):
    """A phone call cannot be logged as made in the future."""

    code = "call_in_the_future"


class AlertRetry(Exception):
    """A transient failure sending an alert; the task retries with backoff."""
