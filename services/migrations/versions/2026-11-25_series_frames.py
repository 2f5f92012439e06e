"""series: image planes of enhanced (multi-frame) series, which routing's min_slices counts

Revision ID: 0008_series_frames
Revises: 0006_quarantine_node
Create Date: 2026-11-25 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_series_frames"
down_revision: str | None = "0006_quarantine_node"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL keeps the meaning of every existing row: one image plane per instance.
    with op.batch_alter_table("series") as batch:
        batch.add_column(sa.Column("slice_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("series") as batch:
        batch.drop_column("slice_count")
