"""resumable uploads: upload batches, their files and the studies they hold back

Revision ID: 0004_uploads
Revises: 0003_merge
Create Date: 2026-11-25 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models._types

revision: str = "0004_uploads"
down_revision: str | None = "0003_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "upload_batch",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expected_files", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", services.models._types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finalized_at", services.models._types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_upload_batch_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_upload_batch_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_batch")),
        sa.UniqueConstraint(
            "organization_id", "key", name=op.f("uq_upload_batch_organization_id_key")
        ),
    )
    with op.batch_alter_table("upload_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upload_batch_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "upload_batch_file",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("file_key", sa.String(length=300), nullable=False),
        sa.Column("upload_id", sa.String(length=64), nullable=False),
        sa.Column("instance_count", sa.Integer(), nullable=False),
        sa.Column("created_at", services.models._types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["upload_batch.id"],
            name=op.f("fk_upload_batch_file_batch_id_upload_batch"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("batch_id", "file_key", name=op.f("pk_upload_batch_file")),
    )

    op.create_table(
        "upload_batch_study",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("orthanc_study_id", sa.String(length=64), nullable=False),
        sa.Column("released_at", services.models._types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["upload_batch.id"],
            name=op.f("fk_upload_batch_study_batch_id_upload_batch"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "batch_id", "study_instance_uid", name=op.f("pk_upload_batch_study")
        ),
    )
    with op.batch_alter_table("upload_batch_study", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_upload_batch_study_study_instance_uid"),
            ["study_instance_uid"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("upload_batch_study", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_batch_study_study_instance_uid"))
    op.drop_table("upload_batch_study")
    op.drop_table("upload_batch_file")
    with op.batch_alter_table("upload_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_batch_tenant_id"))
    op.drop_table("upload_batch")
