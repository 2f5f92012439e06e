"""Per-process collaborators of the gateway app, built once and shared by requests."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import Depends

from gateway.orthanc.client import OrthancClient
from gateway.orthanc.port import OrthancPort
from services.kit.settings import get_settings
from services.kit.storage import ObjectStore, build_object_store


@lru_cache
def orthanc_client() -> OrthancPort:
    """Return the process's Orthanc client."""
    o = get_settings().orthanc
    return OrthancClient(o.url, o.username, o.password.get_secret_value())


@lru_cache
def object_store() -> ObjectStore:
    """Return the process's object store."""
    settings = get_settings()
    return build_object_store(settings.storage, settings.storage_root)


Orthanc = Annotated[OrthancPort, Depends(orthanc_client)]
ObjectStoreDep = Annotated[ObjectStore, Depends(object_store)]
