"""`radbridge bench report-pdf`: render and sign a two-page report with one key image.

The target (issue 6) is a median of at most 500 ms for the whole signed PDF on this machine.
A plain one-page render is measured in the same run as the baseline the figure is compared to.
The countersigned path (双签: both signers printed, the author's PAdES signature, then the
reviewer's as a second incremental update, as ``rendering.render_and_store`` does) is measured
in the same loop.
"""

from __future__ import annotations

import dataclasses
import io
import statistics
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from PIL import Image

from services.report.document import KeyImage, ReportDocument
from services.report.pdf import render_report_pdf
from services.report.signing.ca import create_authority, issue_signer
from services.report.signing.local import REVIEWER_FIELD_NAME, LocalSigner

PASS = b"bench-only-passphrase"
FINDING = (
    "双肺纹理增粗，右肺上叶见斑片状高密度影，边界模糊，内见支气管充气征。"
    "心影大小形态正常，双侧膈面光整，肋膈角锐利。"
)


@dataclass(frozen=True)
class ReportBench:
    """Medians in milliseconds, and the page count of the measured document."""

    runs: int
    pages: int
    baseline_ms: float  # one page, no image, not signed
    render_ms: float  # two pages + key image
    sign_ms: float
    total_ms: float
    # 双签: render with both signers, author signs, reviewer countersigns
    countersigned_ms: float = 0.0
    countersign_ms: float = 0.0  # the reviewer's signature alone
    target_ms: float = 500.0

    @property
    def ratio(self) -> float:
        """Return the full signed render time over the one-page baseline."""
        return self.total_ms / self.baseline_ms if self.baseline_ms else float("inf")


def key_image(size: int = 1024) -> bytes:
    """Return a radiograph-like JPEG (smooth gradient plus noise) of ``size`` pixels square."""
    rng = np.random.default_rng(7)
    ramp = np.linspace(40, 220, size, dtype=np.float32)
    pixels = ramp[None, :] * 0.6 + ramp[:, None] * 0.4 + rng.normal(0, 12, (size, size))
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=90)
    return out.getvalue()


def document(*, long: bool, with_image: bool) -> ReportDocument:
    """Return a Chinese report; ``long`` fills about two pages."""
    repeats = 16 if long else 2
    return ReportDocument(
        report_id="bench-0001",
        language="zh-CN",
        hospital_name="青山县人民医院 影像诊断中心",
        clinic_name="河西镇卫生院",
        patient_name="张三",
        patient_id="QS-000123",
        sex="M",
        accession="ACC-2026-0001",
        modality="DX",
        study_date=date(2026, 11, 24),
        exam_description="胸部正位片",
        findings="\n".join(FINDING for _ in range(repeats)),
        impression="右肺上叶炎症，建议抗炎治疗后复查。",
        author_name="李医生",
        signed_at=datetime(2026, 11, 24, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
        letterhead_lines=("青山县人民路 1 号 · 电话 0571-0000000",),
        images_url="https://films.example.org/s/1.2.3.4" if long else None,
        key_images=(KeyImage(key_image(), "右肺上叶病灶 / RUL opacity"),) if with_image else (),
    )


def countersigned(doc: ReportDocument) -> ReportDocument:
    """Return ``doc`` reviewed by a senior 25 minutes after it was signed."""
    assert doc.signed_at is not None
    return dataclasses.replace(
        doc, reviewer_name="王主任", reviewed_at=doc.signed_at + timedelta(minutes=25)
    )


def _signers() -> tuple[LocalSigner, LocalSigner]:
    ca = create_authority("Bench CA", "RadBridge bench", PASS)
    people = [
        issue_signer(ca, PASS, common_name=name, organization="bench", passphrase=PASS)
        for name in ("李医生", "王主任")
    ]
    author, reviewer = (
        LocalSigner(
            certificate_pem=person.certificate_pem,
            key_pem=person.key_pem,
            passphrase=PASS,
            chain_pem=ca.certificate_pem,
        )
        for person in people
    )
    return author, reviewer


def _double(doc: ReportDocument, author: LocalSigner, reviewer: LocalSigner) -> tuple[float, float]:
    """Render and sign twice; return the seconds for all of it and for the second signature."""
    start = time.perf_counter()
    pdf = author.sign_pdf(render_report_pdf(doc), reason="bench", name="李医生")
    middle = time.perf_counter()
    reviewer.sign_pdf(pdf, reason="bench review", name="王主任", field=REVIEWER_FIELD_NAME)
    end = time.perf_counter()
    return end - start, end - middle


def _pages(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def run(runs: int = 15) -> ReportBench:
    """Alternate baseline, full and countersigned runs ``runs`` times each; return medians."""
    signer, reviewer = _signers()
    small, full = document(long=False, with_image=False), document(long=True, with_image=True)
    double = countersigned(full)
    render_report_pdf(small)  # font registration happens once per process: not measured
    base, render, sign, total, pages = [], [], [], [], 0
    both, second = [], []
    for _ in range(runs):
        start = time.perf_counter()
        render_report_pdf(small)
        base.append(time.perf_counter() - start)
        start = time.perf_counter()
        pdf = render_report_pdf(full)
        middle = time.perf_counter()
        signed = signer.sign_pdf(pdf, reason="bench", name="李医生")
        end = time.perf_counter()
        render.append(middle - start)
        sign.append(end - middle)
        total.append(end - start)
        pages = _pages(signed)
        whole, countersign = _double(double, signer, reviewer)
        both.append(whole)
        second.append(countersign)
    ms = 1000.0
    return ReportBench(
        runs=runs,
        pages=pages,
        baseline_ms=statistics.median(base) * ms,
        render_ms=statistics.median(render) * ms,
        sign_ms=statistics.median(sign) * ms,
        total_ms=statistics.median(total) * ms,
        countersigned_ms=statistics.median(both) * ms,
        countersign_ms=statistics.median(second) * ms,
    )
