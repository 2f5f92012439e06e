"""DICOM PS3.15 Annex E de-identification with keyed, per-consortium pseudonyms.

Pure domain code on pydicom: no database, web or task framework. The export in
``gateway.export`` feeds it datasets and writes what comes out.
"""

from gateway.deid.burned_in import burned_in_reason
from gateway.deid.engine import Deidentifier, DeidResult, patient_of
from gateway.deid.keys import ConsortiumKey, PatientRef, consortium_key
from gateway.deid.profile import Action, Options, annex_e_table

__all__ = [
    "Action",
    "ConsortiumKey",
    "DeidResult",
    "Deidentifier",
    "Options",
    "PatientRef",
    "annex_e_table",
    "burned_in_reason",
    "consortium_key",
    "patient_of",
]
