"""worklist_item.priority_rescore_at: when an item's due points next change, for the beat job

Priority weights themselves live in ``tenant.settings`` (no schema change).

Revision ID: 0009_priority_weights
Revises: 0008_series_frames
Create Date: 2026-11-25 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models._types

revision: str = "0009_priority_weights"
down_revision: str | None = "0008_series_frames"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("worklist_item") as batch:
        batch.add_column(
            sa.Column(
                "priority_rescore_at",
                services.models._types.UtcDateTime(timezone=True),
                nullable=True,
            )
        )
    op.create_index("ix_worklist_rescore", "worklist_item", ["status", "priority_rescore_at"])
    # Open items with a due time were scored without this mark: a past time has the beat job
    # re-score each once (in its batches), which sets the real next change.
    op.execute(
        "UPDATE worklist_item SET priority_rescore_at = created_at"
        " WHERE status IN ('UNREAD', 'CLAIMED') AND due_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_worklist_rescore", table_name="worklist_item")
    with op.batch_alter_table("worklist_item") as batch:
        batch.drop_column("priority_rescore_at")
