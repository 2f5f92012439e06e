"""The Helm chart, rendered by the real helm binary and checked against the application.

Every container's arguments must be a real ``radbridge`` command, every RADBRIDGE_* variable a
real setting, and Orthanc must come out hardened and reachable only from RadBridge's pods.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from gateway.scp.cli import SPOOL_DIRNAME
from services.cli.app import _add_groups, _plug_in, app
from services.kit.settings import CoreSettings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "radbridge"
HELM = ROOT / ".tools" / "helm" / "helm"
SECRETS = {
    "secrets.databaseUrl": "postgresql+psycopg://radbridge:pw@postgres:5432/radbridge",
    "secrets.brokerUrl": "redis://redis:6379/0",
    "secrets.orthancPassword": "orthanc-pw",
    "secrets.authSigningKey": "platform-secret",
    "secrets.jwtSigningJwk": "{}",
    "secrets.deidSecret": "deid-secret",
}


def _helm(*args: str) -> subprocess.CompletedProcess[str]:
    if not HELM.is_file():
        pytest.fail(f"helm is missing at {HELM}: run `bash infra/dev.sh setup` (helm_tools step)")
    return subprocess.run([str(HELM), *args], capture_output=True, text=True, timeout=60)


def _render(**values: str) -> list[dict[str, Any]]:
    sets = ",".join(f"{k}={v}" for k, v in {**SECRETS, **values}.items())
    result = _helm("template", "rb", str(CHART), "--set", sets)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _of(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _pod_templates(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = ("Deployment", "StatefulSet", "Job")
    return {d["metadata"]["name"]: d["spec"]["template"] for d in docs if d["kind"] in kinds}


def test_chart_lints() -> None:
    sets = ",".join(f"{k}={v}" for k, v in SECRETS.items())
    result = _helm("lint", str(CHART), "--strict", "--set", sets)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_process_of_the_local_stack_is_deployed() -> None:
    deployments = _of(_render(), "Deployment")
    assert set(deployments) == {
        f"rb-radbridge-{name}"
        for name in (
            "api",
            "gateway",
            "watcher",
            "scheduler",
            "worker-inference",
            "worker-default",
            "worker-delivery",
        )
    }
    assert deployments["rb-radbridge-watcher"]["spec"]["replicas"] == 1
    assert deployments["rb-radbridge-scheduler"]["spec"]["replicas"] == 1
    assert set(_of(_render(), "StatefulSet")) == {"rb-radbridge-orthanc", "rb-radbridge-dicom"}


def test_the_scp_spool_outlives_its_pod_where_the_scp_writes_it() -> None:
    """Acknowledged instances not yet in Orthanc must survive a replaced pod (no emptyDir)."""
    docs = _render(**{"dicom.replicas": "2", "dicom.spool.size": "20Gi"})
    dicom = _of(docs, "StatefulSet")["rb-radbridge-dicom"]["spec"]
    state_dir = _of(docs, "ConfigMap")["rb-radbridge-config"]["data"]["RADBRIDGE_STATE_DIR"]

    (claim,) = dicom["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert dicom["replicas"] == 2  # each replica its own spool volume
    mounts = dicom["template"]["spec"]["containers"][0]["volumeMounts"]
    spool = next(m for m in mounts if m["name"] == claim["metadata"]["name"])
    assert spool["mountPath"] == f"{state_dir}/{SPOOL_DIRNAME}"
    assert dicom["template"]["spec"]["terminationGracePeriodSeconds"] >= 30  # drain, then stop


def test_container_arguments_are_real_radbridge_commands() -> None:
    _add_groups()
    _plug_in()
    runner = CliRunner()
    for name, template in _pod_templates(_render()).items():
        for container in template["spec"]["containers"]:
            if container["name"] == "orthanc":
                continue
            outcome = runner.invoke(app, [*container["args"], "--help"])
            assert outcome.exit_code == 0, f"{name}: {container['args']}: {outcome.output}"


def test_environment_names_are_settings_the_application_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs = _render()
    (config,) = _of(docs, "ConfigMap").values()
    secret = _of(docs, "Secret")["rb-radbridge-secrets"]["stringData"]
    env: dict[str, str] = dict(config["data"])
    template = _pod_templates(docs)["rb-radbridge-api"]
    for item in template["spec"]["containers"][0]["env"]:
        env[item["name"]] = secret[item["valueFrom"]["secretKeyRef"]["key"]]
    known = _setting_names()
    unknown = {k for k in env if k.startswith("RADBRIDGE_") and k not in known}
    assert unknown == set()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = CoreSettings()
    assert settings.storage.backend == "s3"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.orthanc.url == "http://rb-radbridge-orthanc:8042"
    assert settings.orthanc.manage_locally is False
    assert settings.triton.manage_locally is False
    assert settings.api.host == "0.0.0.0"


def _setting_names() -> set[str]:
    from pydantic import BaseModel

    names: set[str] = set()

    def walk(model: type[BaseModel], prefix: str) -> None:
        for field_name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{field_name.upper()}__")
            else:
                names.add(f"{prefix}{field_name.upper()}")

    walk(CoreSettings, "RADBRIDGE_")
    return names


def test_orthanc_is_hardened_and_only_reachable_from_radbridge_pods() -> None:
    docs = _render()
    config = json.loads(
        _of(docs, "Secret")["rb-radbridge-orthanc-config"]["stringData"]["orthanc.json"]
    )
    assert config["AuthenticationEnabled"] is True
    assert config["RegisteredUsers"] == {"radbridge": "orthanc-pw"}
    for flag in (
        "ExecuteLuaEnabled",
        "RestApiWriteToFileSystemEnabled",
        "DicomAlwaysAllowStore",
        "DicomAlwaysAllowEcho",
        "WebDavEnabled",
        "OrthancExplorerEnabled",
        "DicomServerEnabled",  # modalities reach the gateway's SCP, never Orthanc itself
    ):
        assert config[flag] is False, flag
    assert config["LimitFindResults"] <= 100
    assert config["PostgreSQL"]["EnableIndex"] is True
    services = _of(docs, "Service")
    assert services["rb-radbridge-orthanc"]["spec"]["type"] == "ClusterIP"
    (policy,) = _of(docs, "NetworkPolicy").values()
    allowed = policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
    templates = _pod_templates(docs)
    clients = {
        name
        for name, t in templates.items()
        if all(t["metadata"]["labels"].get(k) == v for k, v in allowed.items())
    }
    assert clients == {
        f"rb-radbridge-{n}"
        for n in (
            "gateway",
            "dicom",
            "watcher",
            "scheduler",
            "worker-inference",
            "worker-default",
            "worker-delivery",
        )
    }
    assert "rb-radbridge-api" not in clients  # the API never talks to Orthanc


def test_migrations_run_as_a_hook_and_pods_run_hardened() -> None:
    docs = _render()
    (job,) = _of(docs, "Job").values()
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    for name, template in _pod_templates(docs).items():
        if name.endswith("orthanc"):
            continue
        spec = template["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        container = spec["containers"][0]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/var/lib/radbridge", "/var/lib/radbridge/keys", "/tmp"} <= mounts, name


def test_missing_secrets_and_unsafe_scaling_fail_with_advice() -> None:
    bare = _helm("template", "rb", str(CHART))
    assert bare.returncode != 0
    assert "secrets.databaseUrl is required" in bare.stderr
    sets = ",".join(f"{k}={v}" for k, v in {**SECRETS, "gateway.replicas": "2"}.items())
    scaled = _helm("template", "rb", str(CHART), "--set", sets)
    assert scaled.returncode != 0
    assert "ReadWriteMany" in scaled.stderr
    shared = _render(**{"gateway.replicas": "2", "gateway.uploads.accessModes[0]": "ReadWriteMany"})
    claims = _of(shared, "PersistentVolumeClaim")
    assert claims["rb-radbridge-uploads"]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_existing_secret_replaces_the_generated_one() -> None:
    sets = "secrets.existingSecret=prod-radbridge,orthanc.existingConfigSecret=prod-orthanc"
    result = _helm("template", "rb", str(CHART), "--set", sets)
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert _of(docs, "Secret") == {}
    api = _pod_templates(docs)["rb-radbridge-api"]["spec"]
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in api["containers"][0]["env"]}
    assert refs == {"prod-radbridge"}
    orthanc = _pod_templates(docs)["rb-radbridge-orthanc"]["spec"]["containers"][0]
    assert orthanc["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "prod-orthanc"
