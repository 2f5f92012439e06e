"""The rescale and window of one frame of an enhanced image, where pydicom's LUT functions look.

A classic image carries Rescale Slope/Intercept and Window Center/Width at the top level, which
is all ``pydicom``'s ``apply_modality_lut`` and ``apply_voi_lut`` read. An enhanced CT/MR object
(PS3.3 C.7.6.16) keeps them per frame in the functional groups: Pixel Value Transformation
(rescale) and Frame VOI LUT (window), in the frame's Per-frame item or once in the Shared item.
Read at the top level, an Enhanced CT frame would stay in stored values, 1024 off Hounsfield
units. ``frame_luts`` gathers one frame's values into a small dataset those functions accept.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from inference.dicom.planes import is_enhanced

# What the LUT functions need to know about the stored values (never the pixels themselves).
_DESCRIPTION = (
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "PhotometricInterpretation",
    "SamplesPerPixel",
    "ModalityLUTSequence",
    "VOILUTSequence",
)
# Functional group macro -> the top-level attributes it stands in for.
_MACROS = (
    ("PixelValueTransformationSequence", ("RescaleSlope", "RescaleIntercept", "RescaleType")),
    ("FrameVOILUTSequence", ("WindowCenter", "WindowWidth", "VOILUTFunction")),
)


def frame_luts(ds: Dataset, index: int) -> Dataset:
    """Return the pixel description of ``ds`` with frame ``index``'s rescale and window.

    A classic (non-enhanced) dataset is returned as it is. For an enhanced one, a value in the
    frame's Per-frame item wins over the Shared item, which wins over a top-level value; a
    rescale with only one of slope and intercept gets the identity for the other.
    """
    if not is_enhanced(ds):
        return ds
    luts = Dataset()
    for keyword in _DESCRIPTION + tuple(k for _, keywords in _MACROS for k in keywords):
        if keyword in ds:
            luts[keyword] = ds[keyword]
    per_frame = list(ds.get("PerFrameFunctionalGroupsSequence") or [])
    shared = list(ds.get("SharedFunctionalGroupsSequence") or [])
    holders = [*per_frame[index : index + 1], *shared[:1]]
    for macro, keywords in _MACROS:
        item = next((h.get(macro)[0] for h in holders if h.get(macro)), None)
        if item is None:
            continue
        for keyword in keywords:
            if keyword in item:
                luts[keyword] = item[keyword]
    if ("RescaleSlope" in luts) != ("RescaleIntercept" in luts):
        luts.RescaleSlope = luts.get("RescaleSlope", 1)
        luts.RescaleIntercept = luts.get("RescaleIntercept", 0)
    return luts
