"""Offsets live on disk: a gateway killed with -9 and started again resumes every upload."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.consortium import Consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle
from tests.gateway.upload.conftest import GatewayProcess, drain, make_study, token_for
from tests.gateway.upload.tus import Tus

pytestmark = pytest.mark.integration


def test_an_upload_resumes_at_its_offset_after_the_gateway_was_killed(
    gateway_process: GatewayProcess,
    consortium: Consortium,
    orthanc: OrthancHandle,
    use_database: Database,
    tmp_path: Path,
) -> None:
    study_uid, (path,) = make_study(tmp_path, 1)
    data = path.read_bytes()
    tus = Tus(gateway_process.url, token_for(consortium, "staff_a"))
    url = tus.create(len(data), filename=path.name).headers["location"]
    for offset in range(0, 20_000, 5000):
        assert tus.patch(url, offset, data[offset : offset + 5000]).status_code == 204

    gateway_process.kill()
    gateway_process.start()

    assert tus.head(url).headers["upload-offset"] == "20000"
    assert tus.patch(url, 20_000, data[20_000:]).status_code == 204
    assert tus.status(url).json()["outcome"]["stored"] == 1
    (study,) = drain(orthanc, use_database, study_uid, timeout=20)
    assert study.organization_id == consortium.clinic_a.id
