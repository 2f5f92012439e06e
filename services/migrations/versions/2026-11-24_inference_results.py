"""inference results: the SOP Instance UID of the DICOM SR each successful AI run wrote

Revision ID: 0002_inference_results
Revises: 0001
Create Date: 2026-11-24 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_inference_results"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inference_job") as batch:
        batch.add_column(sa.Column("result_sr_uid", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inference_job") as batch:
        batch.drop_column("result_sr_uid")
