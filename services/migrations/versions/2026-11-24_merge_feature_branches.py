"""merge the feature branches of 2026-11-24 into one head

Revision ID: 0003_merge
Revises: 0002_delivery, 0002_gateway_archive, 0002_inference_results, 0002_report_signing,
    0002_worklist_query, 0002_worklist_sla
Create Date: 2026-11-24
"""

from collections.abc import Sequence

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


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
