"""Study errors."""

from __future__ import annotations

from services.kit.errors import NotFound


class StudyNotFound(NotFound):
    """No such study among those the caller may see (existence is not revealed)."""

    code = "study_not_found"
