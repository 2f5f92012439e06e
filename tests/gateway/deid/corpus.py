"""The pydicom test files a de-identifier must handle, and an independent reading of the table.

The table is parsed here on its own (not through gateway.deid.profile), so the tests check the
engine against the TSV rows rather than against the engine's own interpretation of them.
"""

from __future__ import annotations

import copy
import csv
import uuid
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import pydicom
import pydicom.data
from pydicom.dataset import Dataset

from gateway.deid import Deidentifier, consortium_key

TEST_FILES = Path(pydicom.data.__file__).parent / "test_files"
TABLE = Path(__file__).resolve().parents[3] / "gateway" / "deid" / "annex_e.tsv"
SECRET = b"test-deidentification-secret-0123456789"


@lru_cache
def composite_files() -> tuple[Path, ...]:
    """Return every pydicom test file that reads as a composite instance (has a SOP UID)."""
    found = []
    for path in sorted(TEST_FILES.rglob("*")):
        if not path.is_file() or path.name.upper().startswith("DICOMDIR"):
            continue
        try:
            ds = pydicom.dcmread(path)
            ok = bool(ds.get("SOPInstanceUID")) and bool(ds.get("SOPClassUID"))
        except Exception:
            continue
        if ok:
            found.append(path)
    return tuple(found)


@lru_cache
def table_rows() -> dict[str, dict[str, str]]:
    """Return the TSV rows by tag text ("0010,0010", "60xx,3000")."""
    lines = [ln for ln in TABLE.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    return {row["tag"].upper(): row for row in csv.DictReader(lines, delimiter="\t")}


def row_for(tag: int) -> dict[str, str] | None:
    """Return the row of ``tag`` (repeating groups matched by hand), or None."""
    rows = table_rows()
    group, element = f"{tag >> 16:04X}", f"{tag & 0xFFFF:04X}"
    for key in (f"{group},{element}", f"{group[:2]}XX,{element}", f"{group[:2]}XX,XXXX"):
        if key in rows:
            return rows[key]
    return None


def effective_code(row: dict[str, str]) -> str:
    """Return the code under both options (Modified Dates last, as the profile applies them)."""
    code = row["basic"]
    for column in ("patient_characteristics", "modified_dates"):
        if row.get(column):
            code = row[column]
    return code


def read(path: Path) -> Dataset:
    return pydicom.dcmread(path)


def deidentified(ds: Dataset, tenant: uuid.UUID, issuer: str = "") -> Dataset:
    """Return a de-identified copy of ``ds`` for consortium ``tenant``."""
    out = copy.deepcopy(ds)
    Deidentifier(consortium_key(SECRET, tenant)).deidentify(out, patient_issuer=issuer)
    return out


def shifted(da: str, days: int) -> str:
    """Shift a YYYYMMDD date back by ``days`` (the test's own arithmetic)."""
    da = da.replace(".", "")  # ACR-NEMA dates come out in the DICOM form
    day = date(int(da[:4]), int(da[4:6]), int(da[6:8]))
    return (day - timedelta(days=days)).strftime("%Y%m%d")
