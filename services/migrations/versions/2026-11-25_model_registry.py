"""model registry: model versions, tenant subscriptions, routing facts, shadow runs

Revision ID: 0004_model_registry
Revises: 0003_merge
Create Date: 2026-11-25 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.models._types import UtcDateTime

revision: str = "0004_model_registry"
down_revision: str | None = "0003_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("vendor", sa.String(length=200), nullable=False),
        sa.Column("regulatory_status", sa.String(length=32), nullable=False),
        sa.Column("nmpa_registration", sa.String(length=64), nullable=True),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("repository", sa.String(length=500), nullable=False),
        sa.Column("checked_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("check_ms", sa.Integer(), nullable=True),
        sa.Column("check_error", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_version")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_model_version_name_version")),
    )
    op.create_table(
        "model_subscription",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_model_subscription_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_subscription")),
        sa.UniqueConstraint(
            "tenant_id", "model_name", name=op.f("uq_model_subscription_tenant_id_model_name")
        ),
    )
    with op.batch_alter_table("inference_job") as batch:
        batch.add_column(
            sa.Column("shadow", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("input_modality", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("input_stats", sa.JSON(), nullable=True))
    with op.batch_alter_table("study") as batch:
        batch.add_column(
            sa.Column("ai_status_reason", sa.String(length=300), nullable=False, server_default="")
        )
    with op.batch_alter_table("series") as batch:
        for name, length in (("sop_class_uid", 64), ("view_position", 16), ("orientation", 16)):
            batch.add_column(
                sa.Column(name, sa.String(length=length), nullable=False, server_default="")
            )
        batch.add_column(sa.Column("slice_thickness", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("series") as batch:
        for name in ("slice_thickness", "orientation", "view_position", "sop_class_uid"):
            batch.drop_column(name)
    with op.batch_alter_table("study") as batch:
        batch.drop_column("ai_status_reason")
    with op.batch_alter_table("inference_job") as batch:
        for name in ("input_stats", "input_modality", "shadow"):
            batch.drop_column(name)
    op.drop_table("model_subscription")
    op.drop_table("model_version")
