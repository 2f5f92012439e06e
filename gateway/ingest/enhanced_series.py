"""Routing facts of enhanced (multi-frame) CT/MR/PET series, from Number of Frames and groups.

An Enhanced or Legacy Converted Enhanced image holds a whole stack of slices in one instance
(PS3.3 C.7.6.16): Number of Frames counts them, and the plane orientation and slice thickness
sit in the Shared Functional Groups Sequence (or in each frame's Per-frame item), never in the
top-level Image Orientation (Patient) and Slice Thickness. Read like a classic series, a
one-file CT of 120 axial frames would be one slice of unknown plane, and no volume model would
take it. Only these SOP classes pay the extra reads: one per series for the frame counts, and
one or two per missing fact for the functional groups.
"""

from __future__ import annotations

from gateway.orthanc.port import OrthancPort

ENHANCED_VOLUME_SOP_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT Image Storage
        "1.2.840.10008.5.1.4.1.1.2.2",  # Legacy Converted Enhanced CT Image Storage
        "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR Image Storage
        "1.2.840.10008.5.1.4.1.1.4.3",  # Enhanced MR Color Image Storage
        "1.2.840.10008.5.1.4.1.1.4.4",  # Legacy Converted Enhanced MR Image Storage
        "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET Image Storage
        "1.2.840.10008.5.1.4.1.1.128.1",  # Legacy Converted Enhanced PET Image Storage
    }
)

_SHARED = "5200-9229"  # Shared Functional Groups Sequence
_PER_FRAME = "5200-9230"  # Per-frame Functional Groups Sequence
# Top-level keyword -> (functional group macro sequence, attribute inside its item).
_GROUP_OF = {
    "ImageOrientationPatient": ("0020-9116", "0020-0037"),  # Plane Orientation Sequence
    "SliceThickness": ("0028-9110", "0018-0050"),  # Pixel Measures Sequence
}


def is_enhanced_volume(tags: dict[str, str]) -> bool:
    """Return whether the instance keeps its stack of slices as frames (by SOP class)."""
    return tags.get("SOPClassUID", "").strip() in ENHANCED_VOLUME_SOP_CLASSES


def with_group_geometry(
    client: OrthancPort, instance_id: str, tags: dict[str, str]
) -> dict[str, str]:
    """Return ``tags`` with the plane and slice thickness taken from the functional groups.

    A top-level value, when present, is kept. Otherwise the shared item decides, else the first
    frame's own item (frames of one stack share their orientation).
    """
    filled = dict(tags)
    for keyword, (macro, attribute) in _GROUP_OF.items():
        if filled.get(keyword, "").strip():
            continue
        for holder in (_SHARED, _PER_FRAME):
            value = client.get_instance_value(instance_id, (holder, "0", macro, "0", attribute))
            if value:
                filled[keyword] = value
                break
    return filled


def frames_of_series(client: OrthancPort, series_orthanc_id: str) -> int:
    """Return the image planes of a series: the sum of its instances' Number of Frames."""
    return sum(client.series_frame_counts(series_orthanc_id))
