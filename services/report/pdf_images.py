"""The pictures on a report page: the hospital's logo, key images, the cloud-film QR code.

Images are decoded by Pillow before ReportLab sees them, so a corrupt key image fails with a
clear error at render time instead of producing a broken PDF; they are scaled to fit, never
stretched.
"""

from __future__ import annotations

import io

from PIL import Image as PilImage
from PIL import UnidentifiedImageError
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image, KeepTogether, Paragraph, Spacer, Table, TableStyle

from services.report.document import KeyImage

KEY_IMAGE_MAX_H = 75 * mm
QR_SIZE = 24 * mm
MAX_PIXELS = 40_000_000  # refuse decompression bombs in reader-supplied images


class BadReportImage(ValueError):
    """A logo or key image that is not a readable JPEG or PNG."""


def _fitted(data: bytes, max_w: float, max_h: float) -> Image:
    try:
        with PilImage.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise BadReportImage(f"image of {width}x{height} pixels is too large to print")
            probe.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BadReportImage(f"not a readable JPEG or PNG image: {exc}") from exc
    scale = min(max_w / width, max_h / height)
    flowable = Image(io.BytesIO(data), width=width * scale, height=height * scale)
    flowable.hAlign = "CENTER"
    return flowable


def logo(data: bytes, height: float = 14 * mm) -> Image:
    """Return the hospital logo scaled to ``height``."""
    return _fitted(data, 60 * mm, height)


def qr_code(url: str, size: float = QR_SIZE) -> Drawing:
    """Return a QR code drawing of ``url`` (ReportLab's own encoder, error correction M)."""
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def key_images(
    images: tuple[KeyImage, ...], heading: Paragraph, style: ParagraphStyle, width: float
) -> list[Flowable]:
    """Return the key-image section: up to two images a row, each with its caption."""
    if not images:
        return []
    cell_w = (width - 4 * mm) / 2 if len(images) > 1 else width
    cells = [
        [_fitted(image.data, cell_w, KEY_IMAGE_MAX_H), Paragraph(image.caption, style)]
        for image in images
    ]
    rows = [cells[i : i + 2] for i in range(0, len(cells), 2)]
    if len(rows[-1]) == 1 and len(images) > 1:
        rows[-1].append([Spacer(1, 1)])
    table = Table(rows, colWidths=[cell_w] * len(rows[0]))
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (-1, -1), "CENTER")])
    )
    return [KeepTogether([heading, table])]
