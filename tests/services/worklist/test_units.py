"""Pure pieces of the worklist query: cursors, bands, pinyin keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.domain.pinyin_search import name_keys, search_key
from services.domain.priority_band import PriorityBand, band_of
from services.worklist import cursor

pytestmark = pytest.mark.unit
KEY = cursor.derive_key("a-signing-key-of-the-platform-32b")
POSITION = cursor.Position(400, datetime(2026, 11, 24, 8, 0, tzinfo=UTC), uuid.uuid4())


class TestCursor:
    def test_round_trip(self) -> None:
        token = cursor.encode(POSITION, fingerprint="f1", key=KEY)
        assert cursor.decode(token, fingerprint="f1", key=KEY) == POSITION

    @pytest.mark.parametrize("token", ["", "garbage", "a.b", "...", "eyJ9.AAAA"])
    def test_garbage_is_invalid(self, token: str) -> None:
        with pytest.raises(cursor.InvalidCursor, match="invalid page cursor"):
            cursor.decode(token, fingerprint="f1", key=KEY)

    def test_other_key_is_invalid(self) -> None:
        token = cursor.encode(POSITION, fingerprint="f1", key=cursor.derive_key("other"))
        with pytest.raises(cursor.InvalidCursor):
            cursor.decode(token, fingerprint="f1", key=KEY)

    def test_other_filters_are_invalid(self) -> None:
        token = cursor.encode(POSITION, fingerprint="f1", key=KEY)
        with pytest.raises(cursor.InvalidCursor):
            cursor.decode(token, fingerprint="f2", key=KEY)


@pytest.mark.parametrize(
    ("score", "band"),
    [(700, "critical"), (600, "critical"), (599, "high"), (300, "high"), (299, "normal"),
     (100, "normal"), (99, "low"), (0, "low"), (-5, "low")],
)  # fmt: skip
def test_bands(score: int, band: str) -> None:
    assert band_of(score) is PriorityBand(band)


@pytest.mark.parametrize(
    ("name", "pinyin", "initials"),
    [("张三", "zhangsan", "zs"), ("Zhang^San=张三", "zhangsan", "zs"), ("DOE^JOHN", "doejohn", "dj"),
     ("欧阳^娜娜", "ouyangnana", "oynn"), ("", "", "")],
)  # fmt: skip
def test_name_keys(name: str, pinyin: str, initials: str) -> None:
    keys = name_keys(name)
    assert (keys.pinyin, keys.initials) == (pinyin, initials)


def test_search_key_normalizes_case_and_separators() -> None:
    assert search_key(" Zhang San ") == "zhangsan"
