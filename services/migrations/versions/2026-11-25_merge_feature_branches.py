"""merge the feature branches of 2026-11-25 into one head

Revision ID: 0005_merge
Revises: 0004_critical_values, 0004_ingest_identity, 0004_model_registry, 0004_report_workflow,
    0004_retention, 0004_uploads, 0004_worklist5
Create Date: 2026-11-25
"""

from collections.abc import Sequence

revision: str = "0005_merge"
down_revision: str | Sequence[str] | None = (
    "0004_critical_values",
    "0004_ingest_identity",
    "0004_model_registry",
    "0004_report_workflow",
    "0004_retention",
    "0004_uploads",
    "0004_worklist5",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the branches touch separate tables."""


def downgrade() -> None:
    """Nothing to undo."""
