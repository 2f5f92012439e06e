"""Manifests for the registry tests, derived from the shipped image-quality manifest."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import yaml

from inference.models.repository import model_repository_source

SHIPPED = model_repository_source() / "image_quality" / "manifest.yaml"


def shipped_data() -> dict[str, Any]:
    """Return the shipped image-quality manifest as plain data."""
    data: dict[str, Any] = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    return data


def write_variant(folder: Path, **changes: Any) -> Path:
    """Write a copy of the shipped model (files + manifest) with top-level ``changes``.

    The Python backend's ``model.py`` is copied as is; ``name`` changes the Triton model name.
    """
    data = copy.deepcopy(shipped_data())
    data.update(changes)
    model_dir = folder / "files"
    shutil.copytree(SHIPPED.parent / data["triton"]["model_dir"], model_dir, dirs_exist_ok=True)
    data["triton"] = {**data["triton"], "model_dir": "files"}
    path = folder / "manifest.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def chest_manifest(**match: Any) -> dict[str, Any]:
    """A frontal-chest model's manifest (certified), for routing tests."""
    data = copy.deepcopy(shipped_data())
    data.update(
        name="chest_triage",
        version="2",
        display_name={"en": "Chest radiograph triage", "zh-CN": "胸片分诊"},
        vendor="Example Vendor",
        regulatory={"status": "certified", "nmpa_registration": "国械注准20233210001"},
        match={"modalities": ["CR", "DX"], "view_positions": ["PA", "AP"], **match},
    )
    return data


def ct_manifest() -> dict[str, Any]:
    """A lung CT model taking the thinnest axial series with at least 20 slices."""
    data = copy.deepcopy(shipped_data())
    data.update(
        name="lung_ct",
        version="1",
        match={
            "modalities": ["CT"],
            "orientation": "axial",
            "min_slices": 20,
            "series_choice": "thinnest",
        },
    )
    return data
