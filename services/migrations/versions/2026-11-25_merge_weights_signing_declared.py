"""merge priority weights, remote signing and declared upload order into one head

Revision ID: 0011_merge
Revises: 0009_priority_weights, 0009_upload_declared, 0010_remote_signing
Create Date: 2026-11-25
"""

from collections.abc import Sequence

revision: str = "0011_merge"
down_revision: str | Sequence[str] | None = (
    "0009_priority_weights",
    "0009_upload_declared",
    "0010_remote_signing",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the branches touch separate tables."""


def downgrade() -> None:
    """Nothing to undo."""
