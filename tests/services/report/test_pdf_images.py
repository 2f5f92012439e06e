"""Letterhead, logo, key images and the cloud-film QR code on the rendered report."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from services.cli import bench_report
from services.report.document import KeyImage
from services.report.pdf import render_report_pdf
from services.report.pdf_images import BadReportImage

URL = "https://films.example.org/s/1.2.826.0.1.3680043.8.498.1"


def _png(size: tuple[int, int], value: int = 200) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((size[1], size[0], 3), value, dtype=np.uint8)).save(out, "PNG")
    return out.getvalue()


def _images(pdf: bytes) -> list[tuple[int, int]]:
    reader = PdfReader(io.BytesIO(pdf))
    found = [img.image for page in reader.pages for img in page.images]
    return [(image.width, image.height) for image in found if image is not None]


def test_two_page_report_carries_letterhead_qr_link_and_key_image() -> None:
    doc = bench_report.document(long=True, with_image=True)
    doc = dataclasses.replace(doc, logo=_png((300, 100)), images_url=URL, language="en")
    pdf = render_report_pdf(doc)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    text = "".join(page.extract_text() for page in reader.pages)
    assert URL in text.replace("\n", "")  # printed under the QR code for people who cannot scan
    assert "0571-0000000" in text
    assert sorted(_images(pdf)) == [(300, 100), (1024, 1024)]  # the logo and the key image


def test_no_qr_and_no_images_unless_given() -> None:
    doc = dataclasses.replace(bench_report.document(long=False, with_image=False), language="en")
    pdf = render_report_pdf(doc)
    assert _images(pdf) == []
    assert "films.example" not in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_a_corrupt_key_image_is_a_clear_error() -> None:
    doc = bench_report.document(long=False, with_image=False)
    broken = dataclasses.replace(doc, key_images=(KeyImage(b"\x89PNG not really", "x"),))
    with pytest.raises(BadReportImage, match="not a readable JPEG or PNG"):
        render_report_pdf(broken)


def test_two_key_images_share_a_row() -> None:
    doc = bench_report.document(long=False, with_image=False)
    pair = (KeyImage(_png((400, 300)), "a"), KeyImage(_png((300, 400), 90), "b"))
    pdf = render_report_pdf(dataclasses.replace(doc, key_images=pair))
    assert sorted(_images(pdf)) == [(300, 400), (400, 300)]
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
