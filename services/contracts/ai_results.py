"""How RadBridge marks the DICOM objects its AI writes back into a study.

The inference worker stamps every result object (SR today; SEG and GSPS later) with these values;
the gateway's ingest recognises them and leaves such series out of the study, so an AI result
never counts as a new series and never triggers another AI run (no AI-on-AI loops).
"""

from __future__ import annotations

AI_RESULT_MANUFACTURER = "RadBridge"
AI_RESULT_SERIES_DESCRIPTION = "AI RESULT - FOR REFERENCE ONLY"
# Result objects are derived, never images: only these modalities can be ours.
AI_RESULT_MODALITIES = frozenset({"SR", "SEG", "PR"})


def is_ai_result_series(modality: str, series_description: str) -> bool:
    """Return whether a series is one of RadBridge's own AI result series.

    Both the modality and the exact series description must match: a clinic's own structured
    report (dose SR, CAD SR) is a real series of the study and is kept.
    """
    return (
        modality.strip().upper() in AI_RESULT_MODALITIES
        and series_description.strip() == AI_RESULT_SERIES_DESCRIPTION
    )


# The signed report is stored back into its study too (DICOM SR and Encapsulated PDF); those
# series are RadBridge's output as well, and ingest leaves them out in the same way.
REPORT_SERIES_DESCRIPTION = "SIGNED REPORT"
REPORT_MODALITIES = frozenset({"SR", "DOC"})


# Every modality a RadBridge output series can have: any other is never one of ours.
OUTPUT_MODALITIES = AI_RESULT_MODALITIES | REPORT_MODALITIES


def is_radbridge_output_series(modality: str, series_description: str) -> bool:
    """Return whether a series was written by RadBridge itself (AI results or the report)."""
    if is_ai_result_series(modality, series_description):
        return True
    return (
        modality.strip().upper() in REPORT_MODALITIES
        and series_description.strip() == REPORT_SERIES_DESCRIPTION
    )
