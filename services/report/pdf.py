"""Render a signed radiology report as a PDF (ReportLab), with an embedded CJK font.

Rendering is pure: the only I/O is reading the font file once per process. Output is
deterministic (ReportLab ``invariant`` mode), so the same document always gives the same bytes
and the SHA-256 stored with a signed report stays reproducible.
"""

from __future__ import annotations

import functools
import io
import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from services.report import pdf_images, pdf_pages
from services.report.document import AiFindingLine, Language, ReportDocument

logger = logging.getLogger(__name__)

# TrueType-outline CJK fonts only: ReportLab cannot embed CFF/PostScript-outline OpenType
# (e.g. Noto Sans CJK .ttc), so those are deliberately not listed.
FONT_CANDIDATES: tuple[tuple[Path, int], ...] = (
    (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), 0),
    (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), 0),
    (Path("/usr/share/fonts/truetype/arphic/uming.ttc"), 0),
    (Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"), 0),
)
FALLBACK_CID_FONT = "STSong-Light"
_TTF_NAME = "RadBridgeCJK"
_PAGE_W, _PAGE_H = A4
_MARGIN = 18 * mm
_CONTENT_W = _PAGE_W - 2 * _MARGIN - 12  # the platypus Frame pads 6 pt on each side
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_DICOM_AGE = re.compile(r"(\d{3})([DWMY])")
# ReportLab keeps process-wide font and canvas state; renders are short, so serialise them.
_RENDER_LOCK = threading.Lock()

# (zh-CN, en) side by side so a missing translation is visible at a glance.
_LABEL_TABLE: dict[str, tuple[str, str]] = {
    "title": ("影像诊断报告", "Radiology Report"),
    "colon": ("：", ": "),
    "patient_name": ("姓名", "Name"),
    "patient_id": ("患者编号", "Patient ID"),
    "sex": ("性别", "Sex"),
    "age": ("年龄", "Age"),
    "birth_date": ("出生日期", "Birth date"),
    "accession": ("检查号", "Accession"),
    "modality": ("检查类型", "Modality"),
    "study_date": ("检查日期", "Study date"),
    "clinic": ("申请机构", "Referring clinic"),
    "exam": ("检查项目", "Examination"),
    "findings": ("检查所见", "Findings"),
    "impression": ("诊断意见", "Impression"),
    "ai": ("AI 辅助结果", "AI findings"),
    "ai_notice": ("AI辅助，仅供参考", "AI-assisted, for reference"),
    "key_images": ("关键图像", "Key images"),
    "images_online": ("扫码查看影像（云胶片）", "Scan to view the images online"),
    "author": ("报告医师", "Radiologist"),
    "signed_at": ("签发时间", "Signed"),
    "reviewer": ("审核医师", "Reviewed by"),
    "reviewed_at": ("审核时间", "Reviewed"),
    "report_id": ("报告编号", "Report ID"),
    "page": ("第 {page} 页 / 共 {total} 页", "Page {page} of {total}"),
    "M": ("男", "Male"),
    "F": ("女", "Female"),
    "O": ("其他", "Other"),
    "D": ("天", " days"),
    "W": ("周", " weeks"),
    "Mo": ("月", " months"),
    "Y": ("岁", " years"),
}
_LABELS: dict[Language, dict[str, str]] = {
    "zh-CN": {key: zh for key, (zh, _) in _LABEL_TABLE.items()},
    "en": {key: en for key, (_, en) in _LABEL_TABLE.items()},
}


@dataclass(frozen=True, slots=True)
class ReportFont:
    """The font reports are set in; ``embedded`` is False for the CID fallback."""

    name: str
    embedded: bool
    source: str


@functools.lru_cache(maxsize=1)
def report_font() -> ReportFont:
    """Register and return the first usable CJK TrueType font, else the CID fallback."""
    for path, index in FONT_CANDIDATES:
        if not path.is_file():
            continue
        try:
            font = TTFont(_TTF_NAME, str(path), subfontIndex=index)
        except TTFError:
            logger.warning("unusable CJK font %s, trying the next one", path, exc_info=True)
            continue
        pdfmetrics.registerFont(font)
        # One weight only: map bold/italic to it so <b> markup cannot fail on a missing face.
        pdfmetrics.registerFontFamily(
            _TTF_NAME, normal=_TTF_NAME, bold=_TTF_NAME, italic=_TTF_NAME, boldItalic=_TTF_NAME
        )
        return ReportFont(name=_TTF_NAME, embedded=True, source=str(path))
    logger.warning(
        "no CJK TrueType font found; using %s, which is NOT embedded and needs the reader's "
        "Asian font pack (install fonts-wqy-zenhei)",
        FALLBACK_CID_FONT,
    )
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_CID_FONT))
    return ReportFont(name=FALLBACK_CID_FONT, embedded=False, source="builtin-cid")


def render_report_pdf(doc: ReportDocument) -> bytes:
    """Return the signed report ``doc`` as A4 PDF bytes."""
    font = report_font()
    if font.embedded:
        _warn_missing_glyphs(doc, font.name)
    labels = _LABELS[doc.language]
    styles = _styles(font.name, cjk_wrap=doc.language == "zh-CN")
    story: list[Flowable] = [
        *_letterhead(doc, labels, styles),
        _patient_table(doc, labels, styles),
        *_section(labels["findings"], doc.findings, styles),
        *_section(labels["impression"], doc.impression, styles),
        *_ai_section(doc.ai_findings, labels, styles),
        *pdf_images.key_images(
            doc.key_images,
            Paragraph(labels["key_images"], styles["heading"]),
            styles["note"],
            _CONTENT_W,
        ),
        _signature(doc, labels, styles),
    ]
    footer = functools.partial(
        pdf_pages.draw_footer,
        font=font.name,
        left=f"{labels['report_id']}{labels['colon']}{doc.report_id}",
        page_format=labels["page"],
    )
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN + 8 * mm,
        # Metadata is readable without opening the page: keep patient data out of it.
        title=f"{labels['title']} {doc.report_id}",
        author=doc.hospital_name,
        creator="RadBridge",
        invariant=True,
        lang=doc.language,
        initialFontName=font.name,  # else an unused, unembedded Helvetica lands in every page
    )
    with _RENDER_LOCK:
        template.build(
            story,
            canvasmaker=functools.partial(
                pdf_pages.NumberedCanvas, footer=footer, created=doc.signed_at
            ),
        )
    return buffer.getvalue()


def _warn_missing_glyphs(doc: ReportDocument, font_name: str) -> None:
    # A rare character (e.g. CJK Extension B in a name) would silently print blank.
    covered = pdfmetrics.getFont(font_name).face.charToGlyph
    texts = (
        doc.hospital_name,
        doc.clinic_name,
        doc.patient_name,
        doc.exam_description,
        doc.findings,
        doc.impression,
        doc.author_name,
        *(line.summary for line in doc.ai_findings),
    )
    missing = {ch for text in texts for ch in text if not ch.isspace() and ord(ch) not in covered}
    if missing:
        # Count only: the characters may belong to a patient's name.
        logger.warning(
            "report %s: %d distinct characters have no glyph in %s and will print blank",
            doc.report_id,
            len(missing),
            font_name,
        )


def _styles(font: str, *, cjk_wrap: bool) -> dict[str, ParagraphStyle]:
    wrap = "CJK" if cjk_wrap else None
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap=wrap)
    return {
        "hospital": ParagraphStyle(
            "hospital", parent=body, fontSize=16, leading=22, alignment=TA_CENTER
        ),
        "title": ParagraphStyle(
            "title", parent=body, fontSize=18, leading=24, alignment=TA_CENTER, spaceAfter=4 * mm
        ),
        "heading": ParagraphStyle(
            "heading", parent=body, fontSize=12, leading=18, spaceBefore=4 * mm, spaceAfter=1 * mm
        ),
        "label": ParagraphStyle("label", parent=body, textColor=colors.HexColor("#444444")),
        "body": body,
        "right": ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
        "note": ParagraphStyle("note", parent=body, fontSize=9, leading=13),
        "centred": ParagraphStyle("centred", parent=body, fontSize=9, alignment=TA_CENTER),
    }


def _text(value: str) -> str:
    """Escape free text for Paragraph markup; a '<' or '&' in a finding must not break it."""
    return escape(_CONTROL_CHARS.sub("", value))


def _letterhead(
    doc: ReportDocument, labels: dict[str, str], styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    head: list[Flowable] = [pdf_images.logo(doc.logo)] if doc.logo else []
    head.append(Paragraph(_text(doc.hospital_name), styles["hospital"]))
    head += [Paragraph(_text(line), styles["centred"]) for line in doc.letterhead_lines]
    return [
        *head,
        HRFlowable(width="100%", thickness=1.2, color=colors.black, spaceAfter=3 * mm),
        Paragraph(labels["title"], styles["title"]),
    ]


def _format_age(doc: ReportDocument, labels: dict[str, str]) -> tuple[str, str]:
    if doc.age:
        match = _DICOM_AGE.fullmatch(doc.age)
        if match is None:
            return labels["age"], doc.age
        unit = "Mo" if match.group(2) == "M" else match.group(2)
        return labels["age"], f"{int(match.group(1))}{labels[unit]}"
    if doc.birth_date is not None:
        return labels["birth_date"], doc.birth_date.isoformat()
    return labels["age"], "-"


def _patient_table(
    doc: ReportDocument, labels: dict[str, str], styles: dict[str, ParagraphStyle]
) -> Table:
    age_label, age_value = _format_age(doc, labels)
    rows = [
        (labels["patient_name"], doc.patient_name, labels["patient_id"], doc.patient_id),
        (labels["sex"], labels.get(doc.sex.upper(), doc.sex), age_label, age_value),
        (labels["accession"], doc.accession, labels["modality"], doc.modality),
        (labels["study_date"], doc.study_date.isoformat(), labels["clinic"], doc.clinic_name),
        (labels["exam"], doc.exam_description, "", ""),
    ]
    cells = [
        [
            Paragraph(_text(text), styles["label" if column % 2 == 0 else "body"])
            for column, text in enumerate(row)
        ]
        for row in rows
    ]
    width = _CONTENT_W
    table = Table(cells, colWidths=[0.17 * width, 0.33 * width, 0.17 * width, 0.33 * width])
    table.setStyle(
        TableStyle(
            [
                ("SPAN", (1, -1), (3, -1)),
                # Cells are Paragraphs, but Table still sets its own (Helvetica) font first.
                ("FONTNAME", (0, 0), (-1, -1), styles["body"].fontName),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#F2F2F2")),
                ("BACKGROUND", (2, 0), (2, -2), colors.HexColor("#F2F2F2")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


def _section(heading: str, text: str, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    lines = [line for line in text.splitlines() if line.strip()] or ["-"]
    return [
        Paragraph(heading, styles["heading"]),
        *(Paragraph(_text(line), styles["body"]) for line in lines),
    ]


def _ai_section(
    findings: tuple[AiFindingLine, ...],
    labels: dict[str, str],
    styles: dict[str, ParagraphStyle],
) -> list[Flowable]:
    if not findings:
        return []
    notice = labels["ai_notice"]
    # Regulatory: every AI statement names its model and version and says it is advisory.
    return [
        Paragraph(labels["ai"], styles["heading"]),
        *(
            Paragraph(
                _text(f"{n}. {line.summary} ({line.model_name} {line.model_version}; {notice})"),
                styles["note"],
            )
            for n, line in enumerate(findings, start=1)
        ),
    ]


def _minute(moment: datetime) -> str:
    offset = moment.strftime("%z")  # "+0800"; signing times are tz-aware by construction
    return f"{moment:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:5]})"


def _signature(
    doc: ReportDocument, labels: dict[str, str], styles: dict[str, ParagraphStyle]
) -> Flowable:
    colon = labels["colon"]
    signers = [("author", "signed_at", doc.author_name, doc.signed_at)]
    if doc.reviewer_name and doc.reviewed_at is not None:  # 双签: both names, both times
        signers.append(("reviewer", "reviewed_at", doc.reviewer_name, doc.reviewed_at))
    rows = [
        [
            Paragraph(_text(f"{labels[who]}{colon}{name}"), styles["body"]),
            Paragraph(_text(f"{labels[when]}{colon}{_minute(moment)}"), styles["right"]),
        ]
        for who, when, name, moment in signers
    ]
    width = _CONTENT_W
    line = Table(rows, colWidths=[0.45 * width, 0.55 * width])
    line.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), styles["body"].fontName),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
                ("RIGHTPADDING", (1, 0), (1, -1), 0),
            ]
        )
    )
    block: list[Flowable] = [
        Spacer(1, 8 * mm),
        HRFlowable(width="100%", thickness=0.6, color=colors.black, spaceAfter=1 * mm),
        line,
    ]
    if doc.images_url:
        qr = Table(
            [
                [
                    pdf_images.qr_code(doc.images_url),
                    Paragraph(
                        f"{labels['images_online']}<br/>{_text(doc.images_url)}", styles["note"]
                    ),
                ]
            ]
        )
        qr.hAlign = "LEFT"
        block.append(qr)
    return KeepTogether(block)
