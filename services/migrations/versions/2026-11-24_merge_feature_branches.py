"""merge the feature branches of 2026-11-24 into one head; add a foreign key SQLite missed

Revision ID: 0003_merge
Revises: 0002_delivery, 0002_gateway_archive, 0002_inference_results, 0002_report_signing,
    0002_worklist_query, 0002_worklist_sla
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_merge"
down_revision: str | Sequence[str] | None = (
    "0002_delivery",
    "0002_gateway_archive",
    "0002_inference_results",
    "0002_report_signing",
    "0002_worklist_query",
    "0002_worklist_sla",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_ASSIGNED_FK = "fk_worklist_item_assigned_to_id_user_account"


def upgrade() -> None:
    # 0002_worklist_sla added worklist_item.assigned_to_id without its foreign key on SQLite
    # (ALTER TABLE cannot add one there); batch mode rebuilds the table with it.
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("worklist_item") as batch:
            batch.create_foreign_key(_ASSIGNED_FK, "user_account", ["assigned_to_id"], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("worklist_item") as batch:
            batch.drop_constraint(_ASSIGNED_FK, type_="foreignkey")
