"""Chinese names and descriptions from C-STORE and STOW-RS to the database, the API and search.

Files are built with each character set's raw bytes (pydicom 3.0.2 drops ISO 2022 escapes when
it encodes, so the values are given as bytes); names reach our database through Orthanc's
UTF-8 JSON, never through a pydicom round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydicom.dataelem import DataElement
from sqlalchemy import select

from services.models import DicomNode
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle, fresh_ct
from tests.gateway.ingest_identity.conftest import (
    Scp,
    Site,
    bearer,
    drain_until,
    set_charset_override,
    storescu,
)

pytestmark = pytest.mark.integration
IR58_ESCAPE = b"\x1b\x24\x29\x41"  # ESC $ ) A: GB2312 into G1


@dataclass(frozen=True)
class Case:
    charset: str  # SpecificCharacterSet as sent, values separated by backslash
    name: bytes
    description: bytes
    expected_name: str
    expected_description: str
    initials: str


CASES = {
    "GB18030": Case(
        "GB18030", "张三".encode("gb18030"), "胸部平扫".encode("gb18030"), "张三", "胸部平扫", "zs"
    ),
    "GBK": Case("GBK", "李四".encode("gbk"), "头颅CT".encode("gbk"), "李四", "头颅CT", "ls"),
    "ISO_IR 192": Case(
        "ISO_IR 192",
        "Wang^Wu=王^五".encode(),
        "腹部增强".encode(),
        "Wang^Wu=王^五",
        "腹部增强",
        "ww",
    ),
    # PS3.5 Annex K: alphabetic group in ASCII, ideographic group after ESC $ ) A.
    "ISO 2022 IR 58": Case(
        "\\ISO 2022 IR 58",
        b"Zhang^XiaoDong=" + IR58_ESCAPE + "张^小东".encode("gb2312") + b"=",
        IR58_ESCAPE + "胸部正位".encode("gb2312"),
        "Zhang^XiaoDong=张^小东=",
        "胸部正位",
        "zxd",
    ),
}


def chinese_ct(folder: Path, charset: str, name: bytes, description: bytes) -> tuple[Path, str]:
    """Write a CT whose name and description are the given raw bytes; return path and UID."""
    path, ds = fresh_ct(folder)
    ds.SpecificCharacterSet = charset.split("\\") if "\\" in charset else charset
    ds[0x00100010] = DataElement(0x00100010, "PN", name)
    ds[0x00081030] = DataElement(0x00081030, "LO", description)
    ds.save_as(path, enforce_file_format=True)
    assert name in path.read_bytes()  # written as sent, escapes included
    return path, str(ds.StudyInstanceUID)


@pytest.mark.parametrize("charset", list(CASES))
def test_name_and_description_reach_database_api_and_pinyin_search(
    charset: str,
    *,
    scp: Scp,
    site: Site,
    orthanc: OrthancHandle,
    use_database: Database,
    api: Api,
    tmp_path: Path,
) -> None:
    case = CASES[charset]
    path, uid = chinese_ct(tmp_path, case.charset, case.name, case.description)
    assert storescu(scp, site.node_a, path)[0] == 0

    [study] = drain_until(orthanc, use_database, uid)

    assert (study.patient_name, study.description) == (
        case.expected_name,
        case.expected_description,
    )
    assert study.patient_name_initials == case.initials
    shown = api.get(site.consortium.clinic_staff, f"/api/v1/studies/{study.id}")
    assert shown.status_code == 200
    assert shown.json()["patient_name"] == case.expected_name
    found = api.get(site.consortium.radiologist, "/api/v1/worklist", q=case.initials)
    assert found.status_code == 200
    assert str(study.id) in [item["study_id"] for item in found.json()["items"]]


def test_gbk_labelled_iso_ir_100_is_decoded_with_the_nodes_override(
    scp: Scp, site: Site, orthanc: OrthancHandle, use_database: Database, tmp_path: Path
) -> None:
    set_charset_override(use_database, site.node_a, "GB18030")
    fixed_path, fixed_uid = chinese_ct(
        tmp_path, "ISO_IR 100", "赵六".encode("gbk"), "胸片".encode("gbk")
    )
    raw_path, raw_uid = chinese_ct(
        tmp_path, "ISO_IR 100", "赵六".encode("gbk"), "胸片".encode("gbk")
    )
    assert storescu(scp, site.node_a, fixed_path)[0] == 0
    assert storescu(scp, site.node_b, raw_path)[0] == 0  # node B has no override

    [fixed] = drain_until(orthanc, use_database, fixed_uid)
    [garbled] = drain_until(orthanc, use_database, raw_uid)

    assert (fixed.patient_name, fixed.description) == ("赵六", "胸片")
    assert fixed.patient_name_initials == "zl"
    assert garbled.patient_name != "赵六"  # what old devices produced without the override


def test_override_leaves_a_correctly_labelled_file_alone(
    scp: Scp, site: Site, orthanc: OrthancHandle, use_database: Database, tmp_path: Path
) -> None:
    set_charset_override(use_database, site.node_a, "GB18030")
    case = CASES["ISO_IR 192"]
    path, uid = chinese_ct(tmp_path, case.charset, case.name, case.description)
    assert storescu(scp, site.node_a, path)[0] == 0

    [study] = drain_until(orthanc, use_database, uid)

    assert study.patient_name == case.expected_name
    with use_database.factory() as session:
        node = session.scalar(select(DicomNode).where(DicomNode.ae_title == site.node_a))
        assert node is not None and node.character_set_override == "GB18030"


def test_stow_keeps_iso_2022_ir_58_names(
    site: Site, orthanc: OrthancHandle, use_database: Database, gateway_url: str, tmp_path: Path
) -> None:
    case = CASES["ISO 2022 IR 58"]
    path, uid = chinese_ct(tmp_path, case.charset, case.name, case.description)
    token = bearer(site.consortium, site.consortium.clinic_staff)
    body, content_type = multipart(path.read_bytes())
    response = httpx.post(
        f"{gateway_url}/dicomweb/studies",
        content=body,
        headers={"Content-Type": content_type, "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text

    [study] = drain_until(orthanc, use_database, uid)

    assert (study.patient_name, study.description, study.source) == (
        case.expected_name,
        case.expected_description,
        "stow",
    )


def multipart(part: bytes) -> tuple[bytes, str]:
    boundary = "radbridge-test-boundary"
    head = f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
    body = head + part + f"\r\n--{boundary}--\r\n".encode()
    return body, f'multipart/related; type="application/dicom"; boundary={boundary}'
