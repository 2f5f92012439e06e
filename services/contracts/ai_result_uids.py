"""The UIDs of the result objects an inference job writes, derived from the job id alone.

The inference worker stamps them and the gateway recomputes them: a job records only its SR's
UID, and the GSPS it stores just before is found by the same derivation. A re-run writes the
very same instances, which Orthanc answers with ``AlreadyStored``.
"""

from __future__ import annotations

import uuid

from pydicom.uid import generate_uid


def gsps_sop_instance_uid(job_id: uuid.UUID) -> str:
    """Return the SOP Instance UID of the job's presentation state (GSPS)."""
    return str(generate_uid(entropy_srcs=["radbridge-ai-gsps", str(job_id)]))
