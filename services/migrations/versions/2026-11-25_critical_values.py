"""critical values (list, results, phone log, clinic alerts), report key images, sealed secrets

Revision ID: 0004_critical_values
Revises: 0003_merge
Create Date: 2026-11-25 00:42:58.205061
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models._types

revision: str = "0004_critical_values"
down_revision: str | None = "0003_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "critical_value_definition",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("snomed_code", sa.String(length=20), nullable=True),
        sa.Column("label_zh", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", services.models._types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_critical_value_definition_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_critical_value_definition")),
        sa.UniqueConstraint(
            "tenant_id", "code", name=op.f("uq_critical_value_definition_tenant_id_code")
        ),
    )
    op.create_table(
        "critical_result",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("study_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_org_id", sa.Uuid(), nullable=False),
        sa.Column("reader_org_id", sa.Uuid(), nullable=True),
        sa.Column("report_id", sa.Uuid(), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("label_zh", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("declared_by", sa.String(length=200), nullable=False),
        sa.Column("declared_at", services.models._types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notified_at", services.models._types.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "last_notified_at", services.models._types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column(
            "call_overdue_at", services.models._types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "acknowledged_at", services.models._types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_org_id"],
            ["organization.id"],
            name=op.f("fk_critical_result_clinic_org_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["reader_org_id"],
            ["organization.id"],
            name=op.f("fk_critical_result_reader_org_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_critical_result_report_id_report")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["study.id"],
            name=op.f("fk_critical_result_study_id_study"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_critical_result_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_critical_result")),
    )
    with op.batch_alter_table("critical_result", schema=None) as batch_op:
        batch_op.create_index(
            "ix_critical_result_open", ["tenant_id", "status", "notified_at"], unique=False
        )
        batch_op.create_index("ix_critical_result_study", ["study_id"], unique=False)

    op.create_table(
        "critical_alert",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("critical_result_id", sa.Uuid(), nullable=False),
        sa.Column("channel_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("ack_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", services.models._types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", services.models._types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["delivery_channel.id"],
            name=op.f("fk_critical_alert_channel_id_delivery_channel"),
        ),
        sa.ForeignKeyConstraint(
            ["critical_result_id"],
            ["critical_result.id"],
            name=op.f("fk_critical_alert_critical_result_id_critical_result"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_critical_alert_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_critical_alert")),
    )
    with op.batch_alter_table("critical_alert", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_critical_alert_critical_result_id"), ["critical_result_id"], unique=False
        )

    op.create_table(
        "critical_communication",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("critical_result_id", sa.Uuid(), nullable=False),
        sa.Column("caller_user_id", sa.Uuid(), nullable=True),
        sa.Column("caller_name", sa.String(length=200), nullable=False),
        sa.Column("callee_name", sa.String(length=200), nullable=False),
        sa.Column("callee_role", sa.String(length=100), nullable=False),
        sa.Column("callee_phone", sa.String(length=40), nullable=False),
        sa.Column("called_at", services.models._types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("read_back_confirmed", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("logged_at", services.models._types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["caller_user_id"],
            ["user_account.id"],
            name=op.f("fk_critical_communication_caller_user_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["critical_result_id"],
            ["critical_result.id"],
            name=op.f("fk_critical_communication_critical_result_id_critical_result"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_critical_communication_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_critical_communication")),
    )
    with op.batch_alter_table("critical_communication", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_critical_communication_critical_result_id"),
            ["critical_result_id"],
            unique=False,
        )

    op.create_table(
        "report_key_image",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("frame", sa.Integer(), nullable=False),
        sa.Column("caption", sa.String(length=200), nullable=False),
        sa.Column("object_key", sa.String(length=300), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.Column("created_at", services.models._types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("captured_at", services.models._types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_report_key_image_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_report_key_image_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_key_image")),
    )
    with op.batch_alter_table("report_key_image", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_key_image_report_id"), ["report_id"], unique=False
        )
    with op.batch_alter_table("delivery_channel", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_channel", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=True
        )
    with op.batch_alter_table("report_key_image", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_key_image_report_id"))

    op.drop_table("report_key_image")
    with op.batch_alter_table("critical_communication", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_critical_communication_critical_result_id"))

    op.drop_table("critical_communication")
    with op.batch_alter_table("critical_alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_critical_alert_critical_result_id"))

    op.drop_table("critical_alert")
    with op.batch_alter_table("critical_result", schema=None) as batch_op:
        batch_op.drop_index("ix_critical_result_study")
        batch_op.drop_index("ix_critical_result_open")

    op.drop_table("critical_result")
    op.drop_table("critical_value_definition")
