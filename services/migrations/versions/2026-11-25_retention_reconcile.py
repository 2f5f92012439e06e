"""retention and reconciliation: online retention policies, studies purged from Orthanc

Revision ID: 0004_retention
Revises: 0003_merge
Create Date: 2026-11-25 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models._types

revision: str = "0004_retention"
down_revision: str | None = "0003_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = services.models._types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "retention_policy",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("online_days", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_retention_policy_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_retention_policy_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_policy")),
        sa.UniqueConstraint(
            "tenant_id",
            "organization_id",
            name=op.f("uq_retention_policy_tenant_id_organization_id"),
        ),
    )
    with op.batch_alter_table("retention_policy", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retention_policy_tenant_id"), ["tenant_id"], unique=False
        )
    op.create_table(
        "orthanc_purge",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("study_id", sa.Uuid(), nullable=False),
        sa.Column("orthanc_id", sa.String(length=64), nullable=False),
        sa.Column("manifest_key", sa.String(length=300), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("instance_count", sa.Integer(), nullable=False),
        sa.Column("online_days", sa.Integer(), nullable=False),
        sa.Column("purged_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["study.id"],
            name=op.f("fk_orthanc_purge_study_id_study"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_orthanc_purge_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orthanc_purge")),
        sa.UniqueConstraint("study_id", name=op.f("uq_orthanc_purge_study_id")),
    )
    with op.batch_alter_table("orthanc_purge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orthanc_purge_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orthanc_purge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orthanc_purge_tenant_id"))
    op.drop_table("orthanc_purge")
    with op.batch_alter_table("retention_policy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_policy_tenant_id"))
    op.drop_table("retention_policy")
