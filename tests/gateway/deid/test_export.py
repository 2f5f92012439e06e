"""``radbridge export`` end to end: real Orthanc, real databases, a folder and a real S3 server.

One patient of clinic A has two CT studies and an ultrasound (burned-in text); the export
de-identifies what it may, holds the ultrasound back, and writes a manifest whose checksums
match the files. Another consortium's administrator is refused and the refusal is audited.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pydicom
import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from gateway.api.dependencies import orthanc_client
from gateway.export.cli import register
from gateway.export.manifest import MANIFEST_NAME, parse_manifest
from gateway.export.selection import ExportRefused, Selection
from gateway.export.service import ExportReport, export_studies, open_destination
from services.kit.settings import StorageSettings, get_settings
from services.models import AuditEvent
from tests.fixtures.databases import Database
from tests.fixtures.orthanc import PASSWORD, USERNAME, OrthancHandle
from tests.gateway.deid.conftest import Stored

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration


def _export(
    stored: Stored, db: Database, orthanc: OrthancHandle, target: str, **kw
) -> ExportReport:
    settings = kw.pop("settings", get_settings())
    return export_studies(
        account=kw.pop("username", stored.consortium.username("admin")),
        selection=kw.pop("selection", Selection(study_ids=tuple(s.id for s in stored.studies))),
        destination=open_destination(target, settings),
        orthanc=orthanc.client,
        settings=settings,
        factory=db.factory,
        **kw,
    )


def _check_files(manifest_bytes: bytes, read: Callable[[str], bytes], patient_id: str) -> None:
    manifest = parse_manifest(manifest_bytes)
    assert len(manifest.files) == 2 and len(manifest.blocked) == 1
    assert "ultrasound" in manifest.blocked[0].reason
    assert len({f.patient_pseudonym for f in manifest.files}) == 1
    for entry in manifest.files:
        data = read(entry.path)
        assert hashlib.sha256(data).hexdigest() == entry.sha256 and len(data) == entry.size
        assert patient_id.encode() not in data and b"Zhang" not in data and b"private" not in data
        ds = pydicom.dcmread(io.BytesIO(data))
        assert ds.PatientIdentityRemoved == "YES" and ds.PatientID == entry.patient_pseudonym
        assert ds.SOPInstanceUID == entry.sop_instance_uid and "StudyDescription" not in ds


class TestExportToFolder:
    def test_files_and_manifest_checksums_match(
        self, stored, use_database, orthanc, tmp_path
    ) -> None:
        out = tmp_path / "research"
        report = _export(stored, use_database, orthanc, str(out))
        assert (report.studies, report.files, report.blocked) == (3, 2, 1)
        manifest_bytes = (out / MANIFEST_NAME).read_bytes()
        assert hashlib.sha256(manifest_bytes).hexdigest() == report.manifest_sha256
        _check_files(manifest_bytes, lambda p: (out / p).read_bytes(), stored.patient_id)
        assert b"ACC" not in manifest_bytes and stored.patient_id.encode() not in manifest_bytes

    def test_the_export_is_audited(self, stored, use_database, orthanc, tmp_path) -> None:
        report = _export(stored, use_database, orthanc, str(tmp_path / "x"))
        with use_database.factory() as session:
            events = list(
                session.scalars(
                    select(AuditEvent).where(
                        AuditEvent.tenant_id == stored.consortium.tenant.id,
                        AuditEvent.action.like("export.%"),
                    )
                )
            )
        summary = [e for e in events if e.action == "export.deidentified"]
        assert len(summary) == 1 and summary[0].object_id == report.export_id
        assert summary[0].detail["blocked"] == 1 and summary[0].outcome == "success"
        assert {e.study_id for e in events if e.action == "export.study"} == {
            s.id for s in stored.studies
        }

    def test_burned_in_instances_only_with_explicit_permission(
        self, stored, use_database, orthanc, tmp_path
    ) -> None:
        report = _export(stored, use_database, orthanc, str(tmp_path / "y"), allow_burned_in=True)
        manifest = parse_manifest((tmp_path / "y" / MANIFEST_NAME).read_bytes())
        assert report.files == 3 and not manifest.blocked
        assert [f for f in manifest.files if "ultrasound" in f.burned_in_allowed]

    def test_selection_by_accession_and_by_filter(
        self, stored, use_database, orthanc, tmp_path
    ) -> None:
        by_accession = Selection(accessions=(stored.studies[0].accession_number,))
        assert (
            _export(
                stored, use_database, orthanc, str(tmp_path / "a"), selection=by_accession
            ).files
            == 1
        )
        ct_only = Selection(modality="CT", date_from="20240101", date_to="20240131")
        assert (
            _export(stored, use_database, orthanc, str(tmp_path / "b"), selection=ct_only).studies
            == 1
        )

    def test_a_second_export_into_the_same_folder_is_refused(
        self, stored, use_database, orthanc, tmp_path
    ) -> None:
        _export(stored, use_database, orthanc, str(tmp_path / "z"))
        with pytest.raises(ExportRefused, match="already holds an export"):
            _export(stored, use_database, orthanc, str(tmp_path / "z"))


class TestExportToS3:
    def test_objects_and_manifest_in_the_bucket(
        self, stored, use_database, orthanc, s3_settings: StorageSettings, s3_raw_client: S3Client
    ) -> None:
        settings = get_settings().model_copy(update={"storage": s3_settings})
        target = f"s3://{s3_settings.s3_bucket}/research/run-1"
        report = _export(stored, use_database, orthanc, target, settings=settings)
        assert report.manifest_key == "research/run-1/manifest.json"

        def read(key: str) -> bytes:
            return s3_raw_client.get_object(Bucket=s3_settings.s3_bucket, Key=key)["Body"].read()

        _check_files(
            read(report.manifest_key), lambda p: read(f"research/run-1/{p}"), stored.patient_id
        )


class TestRefusals:
    def test_another_consortiums_admin_gets_nothing(
        self, stored, use_database, orthanc, tmp_path
    ) -> None:
        out = tmp_path / "stolen"
        with pytest.raises(ExportRefused, match="not found in your consortium"):
            _export(
                stored, use_database, orthanc, str(out), username=stored.other.username("admin")
            )
        assert not (out / MANIFEST_NAME).exists() and not list(out.glob("**/*.dcm"))
        with use_database.factory() as session:
            denied = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.tenant_id == stored.other.tenant.id, AuditEvent.outcome == "denied"
                )
            ).all()
        assert [e.detail["study_id"] for e in denied] == [str(stored.studies[0].id)]

    def test_a_radiologist_may_not_export(self, stored, use_database, orthanc, tmp_path) -> None:
        with pytest.raises(ExportRefused, match="not a consortium administrator"):
            _export(
                stored,
                use_database,
                orthanc,
                str(tmp_path / "r"),
                username=stored.consortium.username("radiologist"),
            )

    def test_an_empty_selection_is_refused(self, stored, use_database, orthanc, tmp_path) -> None:
        with pytest.raises(ExportRefused, match="select studies"):
            _export(stored, use_database, orthanc, str(tmp_path / "e"), selection=Selection())


@pytest.fixture
def cli(
    use_database: Database, orthanc: OrthancHandle, monkeypatch: pytest.MonkeyPatch
) -> Iterator[typer.Typer]:
    monkeypatch.setenv("RADBRIDGE_ORTHANC__URL", orthanc.http_url)
    monkeypatch.setenv("RADBRIDGE_ORTHANC__USERNAME", USERNAME)
    monkeypatch.setenv("RADBRIDGE_ORTHANC__PASSWORD", PASSWORD)
    get_settings.cache_clear()
    orthanc_client.cache_clear()
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    yield app
    orthanc_client.cache_clear()
    get_settings.cache_clear()


class TestCommandLine:
    def test_radbridge_export_writes_and_reports(self, stored, cli, tmp_path: Path) -> None:
        out = tmp_path / "cli"
        args = ["export", "--to", str(out), "--as", stored.consortium.username("admin")]
        result = CliRunner().invoke(cli, [*args, "--study", str(stored.studies[0].id)])
        assert result.exit_code == 0, result.output
        assert "exported 1 instance(s) of 1 study(ies)" in result.output
        assert (out / MANIFEST_NAME).exists()

    def test_cross_tenant_is_refused_with_exit_code_2(self, stored, cli, tmp_path: Path) -> None:
        args = ["export", "--to", str(tmp_path / "no"), "--as", stored.other.username("admin")]
        result = CliRunner().invoke(cli, [*args, "--study", str(stored.studies[0].id)])
        assert result.exit_code == 2
        assert "not found in your consortium" in result.output
