"""worklist query: denormalized study facts on worklist_item, queue index, event log

Revision ID: 0002_worklist_query
Revises: 0001
Create Date: 2026-11-24 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models._types

revision: str = "0002_worklist_query"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ITEM_COLUMNS = (
    ("modality", 32, "''"),
    ("body_part", 64, "''"),
    ("patient_type", 16, "'outpatient'"),
    ("patient_name", 200, "''"),
    ("patient_name_pinyin", 400, "''"),
    ("patient_name_initials", 32, "''"),
    ("patient_id", 64, "''"),
    ("accession_number", 64, "''"),
    ("study_description", 200, "''"),
)
_COPIED = (
    ("modality", "modality"),
    ("body_part", "body_part"),
    ("patient_type", "patient_type"),
    ("patient_name", "patient_name"),
    ("patient_name_pinyin", "patient_name_pinyin"),
    ("patient_name_initials", "patient_name_initials"),
    ("patient_id", "patient_id"),
    ("accession_number", "accession_number"),
    ("study_description", "description"),
)


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite supports it with a constant default): no table rebuild, so
    # columns and indexes of sibling revisions are left alone.
    op.add_column(
        "study", sa.Column("patient_name_pinyin", sa.String(400), nullable=False, server_default="")
    )
    op.add_column(
        "study",
        sa.Column("patient_name_initials", sa.String(32), nullable=False, server_default=""),
    )
    op.add_column(
        "study",
        sa.Column("patient_type", sa.String(16), nullable=False, server_default="outpatient"),
    )
    for name, length, default in _ITEM_COLUMNS:
        op.add_column(
            "worklist_item",
            sa.Column(name, sa.String(length), nullable=False, server_default=sa.text(default)),
        )
    op.drop_index("ix_worklist_reader_queue", table_name="worklist_item")
    op.execute(
        "UPDATE worklist_item SET "
        + ", ".join(
            f"{col} = (SELECT study.{src} FROM study WHERE study.id = worklist_item.study_id)"
            for col, src in _COPIED
        )
    )
    op.create_index(
        "ix_worklist_queue_order",
        "worklist_item",
        ["tenant_id", "reader_org_id", "status", sa.text("priority DESC"), "created_at", "id"],
    )
    op.create_index(
        "ix_worklist_claimed_by", "worklist_item", ["tenant_id", "claimed_by_id", "status"]
    )
    op.create_table(
        "worklist_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("reader_org_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("created_at", services.models._types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worklist_event")),
    )
    op.create_index("ix_worklist_event_created_at", "worklist_event", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_worklist_event_created_at", table_name="worklist_event")
    op.drop_table("worklist_event")
    op.drop_index("ix_worklist_claimed_by", table_name="worklist_item")
    op.drop_index("ix_worklist_queue_order", table_name="worklist_item")
    with op.batch_alter_table("worklist_item") as batch:
        for name, _length, _default in _ITEM_COLUMNS:
            batch.drop_column(name)
        batch.create_index(
            "ix_worklist_reader_queue",
            ["tenant_id", "reader_org_id", "status", "priority", "created_at"],
        )
    with op.batch_alter_table("study") as batch:
        for name in ("patient_type", "patient_name_initials", "patient_name_pinyin"):
            batch.drop_column(name)
