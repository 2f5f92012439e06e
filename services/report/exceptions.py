"""Report errors."""

from __future__ import annotations

from services.kit.errors import Conflict, NotFound


class ReportNotFound(NotFound):
    """No report (or no PDF yet) for a study the caller can see."""

    code = "report_not_found"


class ReportAlreadySigned(Conflict):
    """A signed report is immutable; corrections are addenda."""

    code = "report_already_signed"


class ReportIncomplete(Conflict):
    """A report cannot be signed without findings and an impression."""

    code = "report_incomplete"
