"""gateway archive: one archive record per study (object-store copy + checksum manifest)

Revision ID: 0002_gateway_archive
Revises: 0001
Create Date: 2026-11-24 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models._types

revision: str = "0002_gateway_archive"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "archive_record",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("study_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("manifest_key", sa.String(length=300), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("instance_count", sa.Integer(), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("retain_until", services.models._types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("archived_at", services.models._types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", services.models._types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.models._types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["study.id"],
            name=op.f("fk_archive_record_study_id_study"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_archive_record_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_record")),
        sa.UniqueConstraint("study_id", name=op.f("uq_archive_record_study_id")),
    )
    with op.batch_alter_table("archive_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_archive_record_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("archive_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_archive_record_tenant_id"))
    op.drop_table("archive_record")
