"""``radbridge models`` against a real Triton (explicit model control) and a real database.

The model repository starts empty: ``add`` writes the version and its generated config, asks
Triton to load it through the repository API, and enables it only after one inference.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from inference.models.repository import build_model_repository
from inference.registry.cli import app
from inference.triton.server import LocalTriton, TritonPorts
from services.kit.settings import get_settings
from services.model_registry import repository as registry_repository
from services.models import AuditEvent, ModelVersion
from tests.fixtures.consortium import Consortium
from tests.fixtures.databases import Database
from tests.fixtures.s3 import S3Endpoint
from tests.fixtures.triton import free_ports
from tests.model_registry.manifests import SHIPPED, shipped_data, write_variant

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def explicit_server(
    tmp_path_factory: pytest.TempPathFactory, triton_env_dir: Path
) -> Iterator[LocalTriton]:
    root = tmp_path_factory.mktemp("explicit-triton")
    (root / "repo").mkdir()
    server = LocalTriton(
        root / "repo",
        root / "work",
        ports=TritonPorts(*free_ports(3)),
        env_dir=triton_env_dir,
        explicit_model_control=True,
    )
    server.start()
    try:
        server.wait_ready(timeout=90)
        yield server
    finally:
        server.stop()


@pytest.fixture
def explicit_triton(explicit_server: LocalTriton) -> LocalTriton:
    """The explicit-mode server with an empty repository and no model loaded."""
    base = f"http://{explicit_server.http_url}/v2/repository"
    for model in httpx.post(f"{base}/index", json={}).json():
        httpx.post(f"{base}/models/{model['name']}/unload", json={})
    for folder in explicit_server.model_repository.iterdir():
        shutil.rmtree(folder)
    return explicit_server


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def version_row(db: Database, name: str, version: str) -> ModelVersion:
    with db.factory() as session:
        row = registry_repository.get_version(session, name, version)
        assert row is not None
        return row


def add(triton: LocalTriton, manifest: Path, *extra: str) -> Result:
    return run(
        "add",
        str(manifest),
        "--repository",
        str(triton.model_repository),
        "--triton-url",
        triton.http_url,
        "--timeout",
        "60",
        *extra,
    )


class TestAdd:
    def test_add_publishes_loads_checks_and_enables(
        self, explicit_triton: LocalTriton, clean_registry: Database
    ):
        result = add(explicit_triton, SHIPPED)
        assert result.exit_code == 0, result.output
        assert "check inference passed" in result.output
        assert "(repository-api)" in result.output
        repo = explicit_triton.model_repository / "image_quality"
        assert (repo / "1" / "model.py").is_file()
        stored = json.loads((repo / "1" / "radbridge-manifest.json").read_text())
        assert stored["name"] == "image_quality"
        assert "versions: [ 1 ]" in (repo / "config.pbtxt").read_text()
        row = version_row(clean_registry, "image_quality", "1")
        assert row.state == "enabled"
        assert row.checked_at is not None
        assert row.check_ms is not None

        listed = run("list")
        assert listed.exit_code == 0
        assert "image_quality" in listed.output
        assert "enabled" in listed.output
        assert "research-only" in listed.output

    def test_second_version_is_served_next_to_the_first(
        self, explicit_triton: LocalTriton, clean_registry: Database, tmp_path: Path
    ):
        assert add(explicit_triton, SHIPPED).exit_code == 0
        result = add(explicit_triton, write_variant(tmp_path, version="2"), "--shadow")
        assert result.exit_code == 0, result.output
        assert "serving versions 1, 2" in result.output
        config = (explicit_triton.model_repository / "image_quality" / "config.pbtxt").read_text()
        assert "versions: [ 1, 2 ]" in config
        assert version_row(clean_registry, "image_quality", "2").state == "shadow"

    def test_model_answering_other_shapes_than_its_manifest_is_not_enabled(
        self, explicit_triton: LocalTriton, clean_registry: Database, tmp_path: Path
    ):
        data = shipped_data()
        outputs = data["outputs"]
        outputs[0] = {**outputs[0], "shape": [8], "labels": [*outputs[0]["labels"], "extra"]}
        manifest = write_variant(tmp_path, name="iq_wrong_shape", outputs=outputs)
        result = add(explicit_triton, manifest)
        assert result.exit_code == 1
        assert "check failed, the version stays unrouted" in result.output
        row = version_row(clean_registry, "iq_wrong_shape", "1")
        assert row.state == "registered"
        assert row.check_error
        assert row.checked_at is None

    def test_manifest_typo_is_refused_before_anything_is_written(
        self, explicit_triton: LocalTriton, clean_registry: Database, tmp_path: Path
    ):
        data = shipped_data()
        data["match"]["modality"] = data["match"].pop("modalities")
        manifest = write_variant(tmp_path, name="iq_typo", match=data["match"])
        result = add(explicit_triton, manifest)
        assert result.exit_code == 2
        assert "match.modality: unknown key; did you mean 'modalities'?" in result.output
        assert not (explicit_triton.model_repository / "iq_typo").exists()
        with clean_registry.factory() as session:
            assert registry_repository.get_version(session, "iq_typo", "1") is None
            refused = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "model.manifest_refused")
                .order_by(AuditEvent.at.desc())
            ).first()
            assert refused is not None
            assert refused.detail["file"] == str(manifest)

    def test_other_tensors_under_the_same_name_are_refused(
        self, explicit_triton: LocalTriton, clean_registry: Database, tmp_path: Path
    ):
        assert add(explicit_triton, SHIPPED).exit_code == 0
        data = shipped_data()
        changed_input = {**data["input"], "shape": [512, 512]}
        result = add(explicit_triton, write_variant(tmp_path, version="3", input=changed_input))
        assert result.exit_code == 1
        assert "give this model a new name" in result.output

    def test_server_without_explicit_control_is_awaited(
        self, triton_server: LocalTriton, clean_registry: Database, tmp_path: Path
    ):
        # The shared Triton (model control "none") already serves the shipped model.
        result = run(
            "add",
            str(SHIPPED),
            "--repository",
            str(tmp_path / "repo"),
            "--triton-url",
            triton_server.http_url,
        )
        assert result.exit_code == 0, result.output
        assert "(already-served)" in result.output

    def test_unreachable_triton_says_what_to_do(self, clean_registry: Database, tmp_path: Path):
        (port,) = free_ports(1)
        result = run(
            "add",
            str(SHIPPED),
            "--repository",
            str(tmp_path / "repo"),
            "--triton-url",
            f"127.0.0.1:{port}",
            "--timeout",
            "2",
        )
        assert result.exit_code == 1
        assert "radbridge triton" in result.output
        assert version_row(clean_registry, "image_quality", "1").state == "registered"


class TestS3Repository:
    def test_add_to_s3_writes_the_repository_layout(
        self,
        clean_registry: Database,
        s3_server: S3Endpoint,
        s3_raw_client: S3Client,
        monkeypatch: pytest.MonkeyPatch,
    ):
        bucket = "models-test"
        s3_raw_client.create_bucket(Bucket=bucket)
        for key, value in {
            "S3_ENDPOINT_URL": s3_server.url,
            "S3_ACCESS_KEY_ID": s3_server.access_key_id,
            "S3_SECRET_ACCESS_KEY": s3_server.secret_access_key,
        }.items():
            monkeypatch.setenv(f"RADBRIDGE_STORAGE__{key}", value)
        get_settings.cache_clear()
        result = run("add", str(SHIPPED), "--repository", f"s3://{bucket}/triton", "--no-load")
        assert result.exit_code == 0, result.output
        keys = {o["Key"] for o in s3_raw_client.list_objects_v2(Bucket=bucket)["Contents"]}
        assert {
            "triton/image_quality/config.pbtxt",
            "triton/image_quality/1/model.py",
            "triton/image_quality/1/radbridge-manifest.json",
        } <= keys
        row = version_row(clean_registry, "image_quality", "1")
        assert row.repository == f"s3://{bucket}/triton"
        assert row.state == "registered"  # --no-load: never checked, never routed


class TestStatesAndSubscriptions:
    def test_state_commands(self, explicit_triton: LocalTriton, clean_registry: Database):
        assert add(explicit_triton, SHIPPED).exit_code == 0
        for command, state in (
            ("shadow", "shadow"),
            ("disable", "disabled"),
            ("enable", "enabled"),
        ):
            result = run(command, "image_quality", "1")
            assert result.exit_code == 0, result.output
            assert version_row(clean_registry, "image_quality", "1").state == state

    def test_unknown_version(self, clean_registry: Database):
        result = run("enable", "image_quality", "9")
        assert result.exit_code == 1
        assert "radbridge models list" in result.output

    def test_subscribe_and_unsubscribe_a_tenant(
        self, explicit_triton: LocalTriton, consortium: Consortium, clean_registry: Database
    ):
        assert add(explicit_triton, SHIPPED).exit_code == 0
        slug = consortium.tenant.slug
        assert run("subscribe", slug, "image_quality").exit_code == 0
        with clean_registry.factory() as session:
            subs = registry_repository.subscriptions_of(session, consortium.tenant.id)
            assert [s.model_name for s in subs] == ["image_quality"]
        assert run("unsubscribe", slug, "image_quality").exit_code == 0
        again = run("unsubscribe", slug, "image_quality")
        assert again.exit_code == 1
        assert "No such subscription" in again.output

    def test_unknown_tenant_or_model(self, consortium: Consortium, clean_registry: Database):
        result = run("subscribe", "no-such-tenant", "image_quality")
        assert result.exit_code == 1
        assert "check the spelling" in result.output
        result = run("subscribe", consortium.tenant.slug, "nothing_like_this")
        assert result.exit_code == 1
        assert "is registered" in result.output


class TestLocalTritonExplicitMode:
    def test_shipped_models_load_at_start_and_reload_on_request(
        self, tmp_path: Path, triton_env_dir: Path
    ):
        # What `radbridge triton` runs: explicit control, every shipped model loaded at start.
        repository = build_model_repository(tmp_path / "repo")
        server = LocalTriton(
            repository,
            tmp_path / "work",
            ports=TritonPorts(*free_ports(3)),
            env_dir=triton_env_dir,
            explicit_model_control=True,
        )
        with server:
            ready = f"http://{server.http_url}/v2/models/image_quality/versions/1/ready"
            assert httpx.get(ready).status_code == 200
            reload = f"http://{server.http_url}/v2/repository/models/image_quality/load"
            assert httpx.post(reload, json={}).status_code == 200
