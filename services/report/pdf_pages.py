"""Page furniture of a report PDF: the footer on every page and "page N of M" numbering."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

_PAGE_W, _ = A4
MARGIN = 18 * mm
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def draw_footer(
    canvas: Any, page: int, total: int, *, font: str, left: str, page_format: str
) -> None:
    """Draw the report id (left) and "page N of M" (right) at the foot of one page."""
    canvas.saveState()
    left_x, right_x, y = MARGIN + 6, _PAGE_W - MARGIN - 6, MARGIN
    canvas.setFont(font, 8.5)
    canvas.setFillColor(colors.HexColor("#555555"))
    canvas.setStrokeColor(colors.HexColor("#999999"))
    canvas.setLineWidth(0.4)
    canvas.line(left_x, y + 4 * mm, right_x, y + 4 * mm)
    canvas.drawString(left_x, y, _CONTROL_CHARS.sub("", left))
    canvas.drawRightString(right_x, y, page_format.format(page=page, total=total))
    canvas.restoreState()


class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no type hints
    """Defers each page until the end so the footer can say "page N of M"."""

    def __init__(self, *args: Any, footer: Any, created: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Invariant mode would stamp 2000-01-01; the signing time is both true and reproducible.
        offset = created.strftime("%z")
        stamp = f"D:{created:%Y%m%d%H%M%S}{offset[:3]}'{offset[3:5]}'"
        self.setDateFormatter(lambda *_: stamp)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        """Keep the finished page's state; it is drawn once the page count is known."""
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        """Draw every kept page with its footer, then write the file."""
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._footer(self, number, total)
            super().showPage()
        super().save()
