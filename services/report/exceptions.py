"""Report errors."""

from __future__ import annotations

from services.kit.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound


class ReportNotFound(NotFound):
    """No report (or no PDF yet) for a study the caller can see."""

    code = "report_not_found"


class ReportAlreadySigned(Conflict):
    """A signed report is immutable; corrections are addenda."""

    code = "report_already_signed"


class ReportIncomplete(Conflict):
    """A report cannot be signed without findings and an impression."""

    code = "report_incomplete"


class NotYourDraft(Forbidden):
    """Only the author of a draft may edit or sign it."""

    code = "not_your_draft"


class DraftChanged(AppError):
    """The draft changed since the caller loaded it (lost-update protection)."""

    status_code = 412
    code = "draft_changed"


class DraftRejected(InvalidInput):
    """Draft values that do not fit the template."""

    code = "draft_invalid"


class SignOffRefused(Conflict):
    """A sign-off step the rules refuse (countersigning one's own report, a wrong state...)."""

    code = "sign_off_refused"


class AiDecisionsPending(Conflict):
    """AI findings offered in the draft still wait for the reader's decision."""

    code = "ai_decisions_pending"


class AiFindingNotOffered(NotFound):
    """The AI finding is not one offered in this draft."""

    code = "ai_finding_not_found"


class AddendumNotPossible(Conflict):
    """An addendum needs a completed report and no other version in progress."""

    code = "addendum_not_possible"


class TemplateNotFound(NotFound):
    """No such template for the caller's consortium."""

    code = "template_not_found"


class TemplateRejected(InvalidInput):
    """A template that fails its check (unknown code, wrong layout...)."""

    code = "template_invalid"
