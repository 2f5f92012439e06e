"""report workflow: templates as data (library seeded), structured drafts, versions, double signing,
AI finding decisions

Revision ID: 0004_report_workflow
Revises: 0003_merge
Create Date: 2026-11-25
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import services.models._types
from services.kit.ids import new_id
from services.report.template_library import load_library

revision: str = "0004_report_workflow"
down_revision: str | None = "0003_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UtcDateTime = services.models._types.UtcDateTime


def _create_template_table() -> None:
    op.create_table(
        "report_template",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_report_template_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_report_template_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_template")),
        sa.UniqueConstraint(
            "tenant_id",
            "key",
            "language",
            "version",
            name=op.f("uq_report_template_tenant_id_key_language_version"),
        ),
    )
    with op.batch_alter_table("report_template") as batch_op:
        batch_op.create_index(batch_op.f("ix_report_template_tenant_id"), ["tenant_id"])


def _create_decision_table() -> None:
    op.create_table(
        "report_finding_decisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("finding_id", sa.Uuid(), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("edited_value", sa.Text(), nullable=True),
        sa.Column("reader_id", sa.Uuid(), nullable=False),
        sa.Column("decided_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["ai_finding.id"],
            ondelete="CASCADE",
            name=op.f("fk_report_finding_decisions_finding_id_ai_finding"),
        ),
        sa.ForeignKeyConstraint(
            ["reader_id"],
            ["user_account.id"],
            name=op.f("fk_report_finding_decisions_reader_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            ondelete="CASCADE",
            name=op.f("fk_report_finding_decisions_report_id_report"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_report_finding_decisions_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_finding_decisions")),
        sa.UniqueConstraint(
            "report_id", "finding_id", name=op.f("uq_report_finding_decisions_report_id_finding_id")
        ),
    )
    with op.batch_alter_table("report_finding_decisions") as batch_op:
        batch_op.create_index(batch_op.f("ix_report_finding_decisions_finding_id"), ["finding_id"])
        batch_op.create_index(batch_op.f("ix_report_finding_decisions_tenant_id"), ["tenant_id"])


_REPORT_FKS = (
    ("template_id", "report_template"),
    ("previous_id", "report"),
    ("cosigner_id", "user_account"),
    ("cosigner_identity_id", "signing_identity"),
)


def _extend_report() -> None:
    with op.batch_alter_table("report") as batch_op:
        batch_op.add_column(sa.Column("template_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("structured", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="original", nullable=False)
        )
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("previous_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("cosigner_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("cosigned_at", UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cosign_signature", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("cosigner_identity_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("emergency_reason", sa.Text(), nullable=True))
        for column, target in _REPORT_FKS:
            batch_op.create_foreign_key(
                batch_op.f(f"fk_report_{column}_{target}"), target, [column], ["id"]
            )


def _seed_library() -> None:
    # The shipped templates, checked on load: a bad code stops the migration with its name.
    table = sa.table(
        "report_template",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("key", sa.String()),
        sa.column("language", sa.String()),
        sa.column("version", sa.Integer()),
        sa.column("title", sa.String()),
        sa.column("definition", sa.JSON()),
        sa.column("active", sa.Boolean()),
        sa.column("created_at", UtcDateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    rows = [
        {
            "id": new_id(),
            "tenant_id": None,
            "key": t.key,
            "language": t.language,
            "version": t.version,
            "title": t.title,
            "definition": t.definition,
            "active": True,
            "created_at": now,
        }
        for t in load_library()
    ]
    op.bulk_insert(table, rows)


def upgrade() -> None:
    _create_template_table()
    _create_decision_table()
    _extend_report()
    _seed_library()


def downgrade() -> None:
    with op.batch_alter_table("report") as batch_op:
        for column, target in _REPORT_FKS:
            batch_op.drop_constraint(batch_op.f(f"fk_report_{column}_{target}"), type_="foreignkey")
        for column in (
            "emergency_reason",
            "cosigner_identity_id",
            "cosign_signature",
            "cosigned_at",
            "cosigner_id",
            "previous_id",
            "reason",
            "kind",
            "revision",
            "structured",
            "template_id",
        ):
            batch_op.drop_column(column)
    op.drop_table("report_finding_decisions")
    op.drop_table("report_template")
