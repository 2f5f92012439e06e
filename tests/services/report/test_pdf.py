from __future__ import annotations

import dataclasses
import io
import logging
import statistics
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from services.report import pdf
from services.report.document import AiFindingLine, Language, ReportDocument
from services.report.pdf import render_report_pdf, report_font

CST = timezone(timedelta(hours=8))
ZH_FINDINGS = "右侧基底节区见斑片状低密度影，边界欠清。\n脑室系统未见扩大，中线结构居中。"
ZH_IMPRESSION = "右侧基底节区腔隙性脑梗死可能。"
EN_FINDINGS = "Patchy hypodensity in the right basal ganglia.\nNo midline shift."
EN_IMPRESSION = "Probable lacunar infarct, right basal ganglia."


def _document(language: Language = "zh-CN", **overrides: Any) -> ReportDocument:
    zh = language == "zh-CN"
    fields: dict[str, Any] = {
        "report_id": "RPT-2026-000123",
        "language": language,
        "hospital_name": "平安县人民医院" if zh else "Ping'an County People's Hospital",
        "clinic_name": "石桥镇卫生院",
        "patient_name": "王小明",
        "patient_id": "P0001234",
        "sex": "M",
        "age": "045Y",
        "accession": "ACC20260115001",
        "modality": "CT",
        "study_date": date(2026, 1, 15),
        "exam_description": "头颅CT平扫" if zh else "CT head without contrast",
        "findings": ZH_FINDINGS if zh else EN_FINDINGS,
        "impression": ZH_IMPRESSION if zh else EN_IMPRESSION,
        "author_name": "李建国" if zh else "Dr. Li Jianguo",
        "signed_at": datetime(2026, 1, 15, 14, 32, 51, tzinfo=CST),
        "ai_findings": (
            AiFindingLine("ct-head-hemorrhage", "1.3.0", "未检出颅内出血" if zh else "No bleed"),
        ),
    }
    fields.update(overrides)
    return ReportDocument(**fields)


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _fonts(data: bytes) -> list[Any]:
    fonts: list[Any] = []
    for page in PdfReader(io.BytesIO(data)).pages:
        resources = page["/Resources"]
        assert isinstance(resources, DictionaryObject)
        font_dict = resources["/Font"]
        assert isinstance(font_dict, DictionaryObject)
        fonts.extend(font.get_object() for font in font_dict.values())
    return fonts


def _embedded(font: Any) -> bool:
    descriptor = font.get("/FontDescriptor")
    return descriptor is not None and any(
        key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3")
    )


@pytest.mark.unit
class TestRenderReportPdf:
    def test_zh_report_shows_patient_sections_and_author(self) -> None:
        data = render_report_pdf(_document("zh-CN"))

        text = _text(data)
        assert data.startswith(b"%PDF-")
        assert len(PdfReader(io.BytesIO(data)).pages) >= 1
        for expected in (
            "平安县人民医院",
            "影像诊断报告",
            "王小明",
            "检查所见",
            "右侧基底节区见斑片状低密度影",
            "中线结构居中",
            "诊断意见",
            ZH_IMPRESSION,
            "报告医师：李建国",
            "45岁",
            "男",
        ):
            assert expected in text

    def test_en_report_uses_english_labels_and_keeps_chinese_names(self) -> None:
        text = _text(render_report_pdf(_document("en")))

        for expected in (
            "Radiology Report",
            "王小明",
            "石桥镇卫生院",
            "Findings",
            "No midline shift.",
            "Impression",
            EN_IMPRESSION,
            "Radiologist: Dr. Li Jianguo",
            "45 years",
            "Male",
            "Page 1 of 1",
        ):
            assert expected in text

    @pytest.mark.parametrize("language", ["zh-CN", "en"])
    def test_every_font_is_embedded(self, language: Language) -> None:
        fonts = _fonts(render_report_pdf(_document(language)))

        assert fonts
        assert all(_embedded(font) for font in fonts), [str(f["/BaseFont"]) for f in fonts]
        assert any("/FontFile2" in f["/FontDescriptor"].get_object() for f in fonts)

    def test_signature_time_is_printed_to_the_minute_with_offset(self) -> None:
        text = _text(render_report_pdf(_document("zh-CN")))

        assert "签发时间：2026-01-15 14:32 (UTC+08:00)" in text
        assert "14:32:51" not in text

    def test_ai_lines_name_model_version_and_advisory_notice(self) -> None:
        zh = _text(render_report_pdf(_document("zh-CN")))
        en = _text(render_report_pdf(_document("en")))

        assert "未检出颅内出血 (ct-head-hemorrhage 1.3.0; AI辅助，仅供参考)" in zh
        assert "No bleed (ct-head-hemorrhage 1.3.0; AI-assisted, for reference)" in en

    def test_report_without_ai_findings_has_no_ai_section(self) -> None:
        text = _text(render_report_pdf(_document("en", ai_findings=())))

        assert "AI findings" not in text

    def test_footer_carries_report_id_and_page_of_total(self) -> None:
        long_findings = "\n".join(f"{n}. {ZH_FINDINGS}" for n in range(60))
        data = render_report_pdf(_document("zh-CN", findings=long_findings))

        pages = PdfReader(io.BytesIO(data)).pages
        assert len(pages) >= 2
        total = len(pages)
        for number, page in enumerate(pages, start=1):
            assert f"第 {number} 页 / 共 {total} 页" in page.extract_text()
            assert "报告编号：RPT-2026-000123" in page.extract_text()

    def test_markup_in_free_text_is_printed_literally(self) -> None:
        text = _text(render_report_pdf(_document("en", findings="<b>size</b> 3 < 5 & rising")))

        assert "<b>size</b> 3 < 5 & rising" in text

    def test_birth_date_is_shown_when_age_is_missing(self) -> None:
        doc = _document("en", age=None, birth_date=date(1981, 3, 9))

        assert "Birth date\n1981-03-09" in _text(render_report_pdf(doc))

    def test_same_document_renders_identical_bytes(self) -> None:
        assert render_report_pdf(_document("zh-CN")) == render_report_pdf(_document("zh-CN"))

    def test_metadata_carries_no_patient_data_and_signing_time(self) -> None:
        meta = PdfReader(io.BytesIO(render_report_pdf(_document("zh-CN")))).metadata

        assert meta is not None
        assert meta.title == "影像诊断报告 RPT-2026-000123"
        assert "王小明" not in str(dict(meta))
        creation_date = meta["/CreationDate"]
        assert isinstance(creation_date, str)
        assert creation_date == "D:20260115143251+08'00'"

    def test_characters_missing_from_font_are_logged_without_content(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, logger="services.report.pdf"):
            render_report_pdf(_document("zh-CN", patient_name="王\U00020000"))

        assert "1 distinct characters have no glyph" in caplog.text
        assert "\U00020000" not in caplog.text

    @pytest.mark.parametrize("language", ["zh-CN", "en"])
    def test_render_is_fast(self, language: Language) -> None:
        doc = _document(language)
        render_report_pdf(doc)  # font loading is a one-off per process
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            data = render_report_pdf(doc)
            timings.append(time.perf_counter() - started)

        median_ms = statistics.median(timings) * 1000
        print(f"render {language}: median {median_ms:.1f} ms, {len(data)} bytes")  # see with -s
        assert median_ms < 1000
        assert len(data) < 200_000


@pytest.mark.unit
class TestReportDocument:
    def test_naive_signing_time_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            _document(signed_at=datetime(2026, 1, 15, 14, 32))

    def test_unknown_language_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="language must be one of"):
            _document(language="fr")  # type: ignore[arg-type]  # deliberately not a Language

    def test_is_immutable(self) -> None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            _document().findings = "changed"  # type: ignore[misc]


@pytest.fixture
def fresh_font_cache() -> Iterator[None]:
    report_font.cache_clear()
    yield
    report_font.cache_clear()


@pytest.mark.unit
@pytest.mark.usefixtures("fresh_font_cache")
class TestReportFont:
    def test_prefers_installed_wqy_zenhei(self) -> None:
        if not pdf.FONT_CANDIDATES[0][0].is_file():
            pytest.fail("fonts-wqy-zenhei missing: run `bash infra/dev.sh setup`")

        font = report_font()

        assert font.embedded
        assert font.source.endswith("wqy-zenhei.ttc")

    def test_falls_back_to_builtin_cid_font_and_logs_it(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        monkeypatch.setattr(pdf, "FONT_CANDIDATES", ())

        with caplog.at_level(logging.WARNING, logger="services.report.pdf"):
            font = report_font()
            data = render_report_pdf(_document("zh-CN"))

        assert font.name == "STSong-Light"
        assert not font.embedded
        assert "NOT embedded" in caplog.text
        assert data.startswith(b"%PDF-")
        assert any("STSong-Light" in str(f["/BaseFont"]) for f in _fonts(data))
