"""The rendered Orthanc configuration: its keys exist in 1.10.1 and it is hardened."""

from __future__ import annotations

import json
import re
import stat
import subprocess
from pathlib import Path

import pytest

from gateway.orthanc import DicomNode, OrthancConfig, hardening_violations, modality_json
from gateway.orthanc.process import ORTHANC_EXECUTABLE

NODE = DicomNode(name="clinic-a", aet="CLINIC_A", host="10.8.0.5", port=104)


def config(tmp_path: Path, **overrides: object) -> OrthancConfig:
    fields: dict[str, object] = {
        "state_dir": tmp_path,
        "http_port": 8042,
        "dicom_port": 4242,
        "username": "radbridge",
        "password": "pw",
        "nodes": (NODE,),
        **overrides,
    }
    return OrthancConfig(**fields)  # type: ignore[arg-type]


@pytest.mark.unit
class TestRender:
    def test_paths_live_under_the_state_folder(self, tmp_path: Path) -> None:
        rendered = config(tmp_path).to_dict()
        assert rendered["StorageDirectory"] == str(tmp_path / "storage")
        assert rendered["IndexDirectory"] == str(tmp_path / "index")
        assert rendered["TemporaryDirectory"] == str(tmp_path / "tmp")

    def test_rest_api_is_loopback_only_with_a_registered_user(self, tmp_path: Path) -> None:
        rendered = config(tmp_path).to_dict()
        assert rendered["RemoteAccessAllowed"] is False
        assert rendered["AuthenticationEnabled"] is True
        assert rendered["RegisteredUsers"] == {"radbridge": "pw"}
        assert config(tmp_path).http_url == "http://127.0.0.1:8042"

    def test_nodes_may_only_echo_and_store(self, tmp_path: Path) -> None:
        rendered = config(tmp_path).to_dict()
        modalities = rendered["DicomModalities"]
        assert modalities == {"clinic-a": modality_json(NODE)}
        entry = modality_json(NODE)
        assert (entry["AET"], entry["Host"], entry["Port"]) == ("CLINIC_A", "10.8.0.5", 104)
        assert entry["AllowStore"] is True
        assert entry["AllowEcho"] is True
        for verb in ("Find", "FindWorklist", "Get", "Move", "StorageCommitment"):
            assert entry[f"Allow{verb}"] is False

    def test_dicomweb_plugin_is_loaded_at_its_root(self, tmp_path: Path) -> None:
        rendered = config(tmp_path).to_dict()
        assert rendered["Plugins"] == ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"]
        assert rendered["DicomWeb"] == {
            "Enable": True,
            "Root": "/dicom-web/",
            "EnableWado": False,
            "Ssl": False,
        }

    def test_without_plugin_dicomweb_is_disabled(self, tmp_path: Path) -> None:
        rendered = config(tmp_path, dicomweb_plugin=None).to_dict()
        assert rendered["Plugins"] == []
        assert rendered["DicomWeb"]["Enable"] is False  # type: ignore[index]

    def test_stable_age_and_host_check_are_configurable(self, tmp_path: Path) -> None:
        rendered = config(tmp_path, stable_age_s=3, check_modality_host=True).to_dict()
        assert rendered["StableAge"] == 3
        assert rendered["DicomCheckModalityHost"] is True
        assert config(tmp_path).to_dict()["DicomCheckModalityHost"] is False

    def test_json_round_trips(self, tmp_path: Path) -> None:
        cfg = config(tmp_path)
        assert json.loads(cfg.to_json()) == cfg.to_dict()

    def test_password_is_not_in_repr(self, tmp_path: Path) -> None:
        assert "pw'" not in repr(config(tmp_path, password="pw"))


@pytest.mark.unit
class TestValidation:
    @pytest.mark.parametrize(
        "overrides",
        [
            {"dicom_aet": "A" * 17},
            {"dicom_aet": "BAD\\AET"},
            {"dicom_aet": " "},
            {"http_port": 0},
            {"dicom_port": 8042},
            {"stable_age_s": 0},
            {"username": "a:b"},
            {"password": ""},
            {"nodes": (NODE, NODE)},
        ],
    )
    def test_refuses_invalid_values(self, tmp_path: Path, overrides: dict[str, object]) -> None:
        with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
            config(tmp_path, **overrides)

    @pytest.mark.parametrize(
        ("name", "aet", "host", "port"),
        [
            ("../system", "A", "h", 104),
            ("ok", "", "h", 104),
            ("ok", "Ä", "h", 104),
            ("ok", "A", "", 104),
            ("ok", "A", "h", 70000),
        ],
    )
    def test_refuses_invalid_nodes(self, name: str, aet: str, host: str, port: int) -> None:
        with pytest.raises(ValueError):  # noqa: PT011
            DicomNode(name=name, aet=aet, host=host, port=port)


@pytest.mark.unit
class TestWrite:
    def test_writes_owner_only_file_and_creates_folders(self, tmp_path: Path) -> None:
        cfg = config(tmp_path / "state")
        path = cfg.write(tmp_path / "state" / "orthanc.json")
        assert json.loads(path.read_text()) == cfg.to_dict()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert cfg.temporary_dir.is_dir()


@pytest.mark.unit
class TestHardening:
    def test_rendered_config_passes_production_checks_with_host_check(self, tmp_path: Path) -> None:
        cfg = config(tmp_path, check_modality_host=True)
        assert hardening_violations(cfg.to_dict()) == []

    def test_local_config_passes_when_host_check_not_required(self, tmp_path: Path) -> None:
        rendered = config(tmp_path).to_dict()
        assert hardening_violations(rendered, require_host_check=False) == []
        assert hardening_violations(rendered) == ["DicomCheckModalityHost must be true"]

    def test_missing_keys_are_judged_by_orthanc_defaults(self) -> None:
        problems = hardening_violations({})
        joined = "\n".join(problems)
        for key in (
            "AuthenticationEnabled",
            "WebDavEnabled",
            "OrthancExplorerEnabled",
            "DicomAlwaysAllowStore",
            "DicomCheckCalledAet",
            "LimitFindResults",
            "RegisteredUsers",
        ):
            assert key in joined

    def test_flags_a_tampered_config(self, tmp_path: Path) -> None:
        rendered = config(tmp_path, check_modality_host=True).to_dict()
        rendered |= {"ExecuteLuaEnabled": True, "LimitFindResults": 0, "MaximumStorageSize": 10}
        assert len(hardening_violations(rendered)) == 3


def orthanc_default_keys(tmp_path: Path) -> set[str]:
    """Return every option name in the default configuration Orthanc 1.10.1 prints."""
    target = tmp_path / "default.json"
    subprocess.run([str(ORTHANC_EXECUTABLE), f"--config={target}"], check=True, timeout=30)
    return set(re.findall(r'"(\w+)"\s*:', target.read_text()))


@pytest.mark.integration
class TestKnownToOrthanc:
    def test_every_rendered_key_exists_in_orthanc_1_10_1(self, tmp_path: Path) -> None:
        # Orthanc ignores unknown keys without a word, so a typo would silently weaken it.
        if not ORTHANC_EXECUTABLE.exists():
            pytest.fail("Orthanc missing: run `bash infra/dev.sh setup`")
        known = orthanc_default_keys(tmp_path)
        rendered = config(tmp_path, check_modality_host=True).to_dict()
        unknown = set(rendered) - known - {"DicomWeb"}  # DicomWeb belongs to the plugin
        assert unknown == set()
        assert set(modality_json(NODE)) <= known
