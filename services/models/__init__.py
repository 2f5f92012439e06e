"""The ORM tables, one per module; importing this package registers them all."""

from services.models.access_epoch import AccessEpoch
from services.models.archive_record import ArchiveRecord
from services.models.audit_event import AuditEvent
from services.models.change_cursor import ChangeCursor
from services.models.critical_alert import CriticalAlert
from services.models.critical_communication import CriticalCommunication
from services.models.critical_result import CriticalResult
from services.models.critical_value import CriticalValueDefinition
from services.models.delivery_attempt import Delivery, DeliveryAttempt
from services.models.delivery_channel import DeliveryChannel
from services.models.dicom_node import DicomNode
from services.models.finding import AiFinding
from services.models.inference_job import InferenceJob
from services.models.model_version import ModelSubscription, ModelVersion
from services.models.notification import Notification
from services.models.organization import Organization
from services.models.orthanc_purge import OrthancPurge
from services.models.patient_index import PatientIndexEntry
from services.models.quarantine_item import QuarantineItem
from services.models.reader_profile import ReaderProfile
from services.models.reading_agreement import ReadingAgreement
from services.models.report import Report
from services.models.report_finding_decision import ReportFindingDecision
from services.models.report_key_image import ReportKeyImage
from services.models.report_template import ReportTemplate
from services.models.retention_policy import RetentionPolicy
from services.models.signing import SigningAuthority, SigningIdentity
from services.models.sla_policy import SlaPolicy
from services.models.study import Series, Study
from services.models.study_origin import StudyOrigin
from services.models.tenant import Tenant
from services.models.upload_batch import UploadBatch
from services.models.upload_batch_file import UploadBatchFile
from services.models.upload_batch_study import UploadBatchStudy
from services.models.user import ApiClient, User, UserRole
from services.models.worklist_event import WorklistEvent
from services.models.worklist_item import WorklistItem

__all__ = [
    "AccessEpoch",
    "AiFinding",
    "ApiClient",
    "ArchiveRecord",
    "AuditEvent",
    "ChangeCursor",
    "CriticalAlert",
    "CriticalCommunication",
    "CriticalResult",
    "CriticalValueDefinition",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryChannel",
    "DicomNode",
    "InferenceJob",
    "ModelSubscription",
    "ModelVersion",
    "Notification",
    "Organization",
    "OrthancPurge",
    "PatientIndexEntry",
    "QuarantineItem",
    "ReaderProfile",
    "ReadingAgreement",
    "Report",
    "ReportFindingDecision",
    "ReportKeyImage",
    "ReportTemplate",
    "RetentionPolicy",
    "Series",
    "SigningAuthority",
    "SigningIdentity",
    "SlaPolicy",
    "Study",
    "StudyOrigin",
    "Tenant",
    "UploadBatch",
    "UploadBatchFile",
    "UploadBatchStudy",
    "User",
    "UserRole",
    "WorklistEvent",
    "WorklistItem",
]
