"""signing_identity.credential_id: the CSC credential of a radiologist who signs remotely

Revision ID: 0010_remote_signing
Revises: 0008_series_frames
Create Date: 2026-11-25 07:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_remote_signing"
down_revision: str | None = "0008_series_frames"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL keeps every existing identity what it was: a key held by RadBridge.
    with op.batch_alter_table("signing_identity") as batch:
        batch.add_column(sa.Column("credential_id", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signing_identity") as batch:
        batch.drop_column("credential_id")
