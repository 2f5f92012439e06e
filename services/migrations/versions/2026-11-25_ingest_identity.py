"""ingest identity: a character-set override per DICOM node (GBK labelled ISO_IR 100)

Revision ID: 0004_ingest_identity
Revises: 0003_merge
Create Date: 2026-11-25 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_ingest_identity"
down_revision: str | None = "0003_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dicom_node", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "character_set_override", sa.String(length=16), nullable=False, server_default=""
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("dicom_node", schema=None) as batch_op:
        batch_op.drop_column("character_set_override")
