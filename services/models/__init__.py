"""The ORM tables, one per module; importing this package registers them all."""

from services.models.audit_event import AuditEvent
from services.models.change_cursor import ChangeCursor
from services.models.dicom_node import DicomNode
from services.models.finding import AiFinding
from services.models.inference_job import InferenceJob
from services.models.organization import Organization
from services.models.quarantine_item import QuarantineItem
from services.models.reading_agreement import ReadingAgreement
from services.models.report import Report
from services.models.study import Series, Study
from services.models.study_origin import StudyOrigin
from services.models.tenant import Tenant
from services.models.user import ApiClient, User, UserRole
from services.models.worklist_item import WorklistItem

__all__ = [
    "AiFinding",
    "ApiClient",
    "AuditEvent",
    "ChangeCursor",
    "DicomNode",
    "InferenceJob",
    "Organization",
    "QuarantineItem",
    "ReadingAgreement",
    "Report",
    "Series",
    "Study",
    "StudyOrigin",
    "Tenant",
    "User",
    "UserRole",
    "WorklistItem",
]
