"""quarantine: remember the DICOM node a C-STORE item came from (its charset override on release)

Revision ID: 0006_quarantine_node
Revises: 0005_merge
Create Date: 2026-11-25 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_quarantine_node"
down_revision: str | None = "0005_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dicom_node_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_quarantine_item_dicom_node_id_dicom_node"),
            "dicom_node",
            ["dicom_node_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("quarantine_item", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_quarantine_item_dicom_node_id_dicom_node"), type_="foreignkey"
        )
        batch_op.drop_column("dicom_node_id")
