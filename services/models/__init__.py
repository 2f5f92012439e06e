"""The ORM tables, one per module; importing this package registers them all."""

from services.models.archive_record import ArchiveRecord
from services.models.audit_event import AuditEvent
from services.models.change_cursor import ChangeCursor
from services.models.delivery_attempt import Delivery, DeliveryAttempt
from services.models.delivery_channel import DeliveryChannel
from services.models.dicom_node import DicomNode
from services.models.finding import AiFinding
from services.models.inference_job import InferenceJob
from services.models.notification import Notification
from services.models.organization import Organization
from services.models.patient_index import PatientIndexEntry
from services.models.quarantine_item import QuarantineItem
from services.models.reader_profile import ReaderProfile
from services.models.reading_agreement import ReadingAgreement
from services.models.report import Report
from services.models.signing import SigningAuthority, SigningIdentity
from services.models.sla_policy import SlaPolicy
from services.models.study import Series, Study
from services.models.study_origin import StudyOrigin
from services.models.tenant import Tenant
from services.models.user import ApiClient, User, UserRole
from services.models.worklist_event import WorklistEvent
from services.models.worklist_item import WorklistItem

__all__ = [
    "AiFinding",
    "ApiClient",
    "ArchiveRecord",
    "AuditEvent",
    "ChangeCursor",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryChannel",
    "DicomNode",
    "InferenceJob",
    "Notification",
    "Organization",
    "PatientIndexEntry",
    "QuarantineItem",
    "ReaderProfile",
    "ReadingAgreement",
    "Report",
    "Series",
    "SigningAuthority",
    "SigningIdentity",
    "SlaPolicy",
    "Study",
    "StudyOrigin",
    "Tenant",
    "User",
    "UserRole",
    "WorklistEvent",
    "WorklistItem",
]
