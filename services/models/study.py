"""Studies and their series, owned by the clinic that sent them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.clock import utc_now
from services.kit.db import Base
from services.kit.ids import new_id
from services.models._types import UtcDateTime


class Study(Base):
    """One imaging study as registered by the gateway; the patient identity is per clinic."""

    __tablename__ = "study"
    __table_args__ = (
        UniqueConstraint("tenant_id", "study_instance_uid"),
        Index("ix_study_tenant_org_received", "tenant_id", "organization_id", "received_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    study_instance_uid: Mapped[str] = mapped_column(String(64))
    orthanc_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    patient_id: Mapped[str] = mapped_column(String(64), default="")
    patient_id_issuer: Mapped[str] = mapped_column(String(64), default="")
    patient_name: Mapped[str] = mapped_column(String(200), default="")
    patient_name_pinyin: Mapped[str] = mapped_column(String(400), default="")  # "zhangsan"
    patient_name_initials: Mapped[str] = mapped_column(String(32), default="")  # "zs"
    patient_type: Mapped[str] = mapped_column(String(16), default="outpatient")
    patient_sex: Mapped[str] = mapped_column(String(8), default="")
    patient_birth_date: Mapped[str] = mapped_column(String(8), default="")
    accession_number: Mapped[str] = mapped_column(String(64), default="")
    modality: Mapped[str] = mapped_column(String(32), default="")
    body_part: Mapped[str] = mapped_column(String(64), default="")
    study_date: Mapped[str] = mapped_column(String(8), default="")
    description: Mapped[str] = mapped_column(String(200), default="")
    urgency: Mapped[str] = mapped_column(String(16), default="routine")
    source: Mapped[str] = mapped_column(String(32), default="dicom")  # dicom | stow | upload
    calling_ae_title: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16), default="RECEIVED")
    ai_status: Mapped[str] = mapped_column(String(16), default="NONE")
    # Why the AI status is what it is when no model ran (e.g. AI_SKIPPED: no subscribed model).
    ai_status_reason: Mapped[str] = mapped_column(String(300), default="")
    instance_count: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)


class Series(Base):
    """A series of a study; AI models pick their input series from these."""

    __tablename__ = "series"
    __table_args__ = (UniqueConstraint("study_id", "series_instance_uid"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), index=True)
    study_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    series_instance_uid: Mapped[str] = mapped_column(String(64))
    orthanc_id: Mapped[str | None] = mapped_column(String(64))
    modality: Mapped[str] = mapped_column(String(16), default="")
    body_part: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(String(200), default="")
    instance_count: Mapped[int] = mapped_column(Integer, default=0)
    # Routing facts (model manifests match on them); empty/None when the gateway did not say.
    sop_class_uid: Mapped[str] = mapped_column(String(64), default="")
    view_position: Mapped[str] = mapped_column(String(16), default="")
    orientation: Mapped[str] = mapped_column(String(16), default="")  # axial|coronal|sagittal
    slice_thickness: Mapped[float | None] = mapped_column(Float)
    # Image planes of an enhanced (multi-frame) series; NULL: one per instance (classic).
    slice_count: Mapped[int | None] = mapped_column(Integer)
