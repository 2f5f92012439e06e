"""study_origin: urgency and patient type the clinic declared when uploading

Revision ID: 0009_upload_declared
Revises: 0008_series_frames
Create Date: 2026-11-25 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_upload_declared"
down_revision: str | None = "0008_series_frames"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # "" keeps the meaning of every existing row: nothing declared, the DICOM decides.
    with op.batch_alter_table("study_origin") as batch:
        batch.add_column(sa.Column("urgency", sa.String(16), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("patient_type", sa.String(16), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("study_origin") as batch:
        batch.drop_column("patient_type")
        batch.drop_column("urgency")
