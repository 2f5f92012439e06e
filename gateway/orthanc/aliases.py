"""Orthanc modality aliases for registered DICOM nodes (AE titles may hold spaces; ids do not)."""

from __future__ import annotations

import uuid


def node_alias(node_id: uuid.UUID) -> str:
    """Return the stable Orthanc alias of a registered DICOM node."""
    return f"node-{node_id.hex}"
