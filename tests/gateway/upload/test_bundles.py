"""What a finished upload may hold: zips and DICOMDIR bundles are stored, hostile zips refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from pydicom.fileset import FileSet
from sqlalchemy import select

from services.models import QuarantineItem
from tests.fixtures.consortium import Consortium
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import OrthancHandle
from tests.gateway.upload.conftest import drain, make_study, registered
from tests.gateway.upload.tus import Tus

pytestmark = pytest.mark.integration


def _zip(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _dicomdir_bundle(folder: Path, paths: list[Path]) -> Path:
    fileset = FileSet()
    for path in paths:
        fileset.add(str(path))
    out = folder / "cd"
    fileset.write(out)
    return out


def _finish(tus: Tus, data: bytes, **meta: str) -> tuple[int, dict[str, object]]:
    """Upload ``data``; return the status of the last PATCH and the upload's JSON status."""
    url = tus.create(len(data), **meta).headers["location"]
    last = tus.patch(url, 0, data)
    return last.status_code, {
        **tus.status(url).json(),
        "patch": last.json() if last.content else {},
    }


class TestZip:
    def test_a_zipped_study_is_stored_whole(
        self, tus: Tus, orthanc: OrthancHandle, use_database: Database, tmp_path: Path
    ) -> None:
        study_uid, paths = make_study(tmp_path / "s", 12)
        data = _zip({f"study/{p.name}": p.read_bytes() for p in paths} | {"README.txt": b"hi"})

        status, result = _finish(tus, data, filename="study.zip")

        assert status == 204
        outcome = result["outcome"]
        assert isinstance(outcome, dict)
        assert outcome["stored"] == 12
        assert [f["file"] for f in outcome["failed"]] == ["README.txt"]  # quarantined, named
        (study,) = drain(orthanc, use_database, study_uid, timeout=20)
        assert study.orthanc_id is not None
        assert orthanc.client.get_study(study.orthanc_id).series[0].instance_count == 12

    def test_a_dicomdir_bundle_in_a_zip_is_stored_without_its_index(
        self, tus: Tus, tmp_path: Path
    ) -> None:
        study_uid, paths = make_study(tmp_path / "s", 3)
        bundle = _dicomdir_bundle(tmp_path, paths)
        files = {
            p.relative_to(bundle).as_posix(): p.read_bytes()
            for p in bundle.rglob("*")
            if p.is_file()
        }
        assert "DICOMDIR" in files

        status, result = _finish(tus, _zip(files), filename="cd.zip")

        assert status == 204
        assert result["outcome"] == {"stored": 3, "failed": [], "studies": [study_uid]}

    def test_a_zip_bomb_is_refused_before_anything_is_stored(
        self, tus: Tus, use_database: Database, tmp_path: Path
    ) -> None:
        study_uid, (path,) = make_study(tmp_path, 1)
        bomb = _zip({"a.dcm": path.read_bytes(), "b.dcm": bytes(64 * 1024 * 1024)})
        assert len(bomb) < 200_000

        status, result = _finish(tus, bomb, filename="bomb.zip")

        assert status == 413
        assert result["state"] == "rejected"
        assert "zip bomb" in str(result["outcome"])
        assert registered(use_database, study_uid) == []

    def test_a_zip_with_too_many_entries_is_refused(self, tus: Tus) -> None:
        many = _zip({f"{n}.dcm": b"" for n in range(20_001)}, method=zipfile.ZIP_STORED)

        status, result = _finish(tus, many, filename="many.zip")

        assert status == 413
        assert "20001 entries" in str(result["outcome"])

    @pytest.mark.parametrize(
        "name", ["../../etc/cron.d/x.dcm", "/etc/passwd", "a\\..\\..\\b.dcm", "C:/x.dcm"]
    )
    def test_a_zip_slip_name_is_refused(
        self, tus: Tus, use_database: Database, tmp_path: Path, name: str
    ) -> None:
        study_uid, (path,) = make_study(tmp_path, 1)

        status, result = _finish(tus, _zip({"ok.dcm": path.read_bytes(), name: b"x"}))

        assert status == 400
        assert result["outcome"]["code"] == "unsafe_archive"  # type: ignore[index]
        assert "outside the archive" in result["outcome"]["reason"]  # type: ignore[index]
        assert registered(use_database, study_uid) == []


class TestSingleFiles:
    def test_a_dicomdir_alone_is_refused_with_what_to_send_instead(
        self, tus: Tus, tmp_path: Path
    ) -> None:
        _, paths = make_study(tmp_path / "s", 1)
        index = (_dicomdir_bundle(tmp_path, paths) / "DICOMDIR").read_bytes()

        status, result = _finish(tus, index, filename="DICOMDIR")

        assert status == 422
        assert "upload its whole folder" in str(result["outcome"])

    def test_a_truncated_file_is_quarantined_with_its_reason(
        self, tus: Tus, consortium: Consortium, use_database: Database
    ) -> None:
        broken = Path(get_testdata_file("MR_truncated.dcm")).read_bytes()  # type: ignore[arg-type]

        status, result = _finish(tus, broken, filename="MR_truncated.dcm")

        assert status == 204
        outcome = result["outcome"]
        assert isinstance(outcome, dict)
        assert outcome["stored"] == 0
        reason = outcome["failed"][0]["reason"]
        with use_database.factory() as session:
            held = session.scalars(
                select(QuarantineItem).where(
                    QuarantineItem.organization_id == consortium.clinic_a.id,
                    QuarantineItem.source == "upload",
                )
            ).all()
        assert [item.reason for item in held] == [reason]
