"""access epoch (cached principals stay revocable), critical flag on worklist items

Revision ID: 0004_worklist5
Revises: 0003_merge
Create Date: 2026-11-25 00:50:00

``access_epoch`` holds one counter. Triggers bump it in the transaction of every insert, update
or delete on the tables deciding who may see what (accounts, roles, machine clients, reading
agreements), so the API can cache principals and scopes and still notice a revocation made
anywhere, even straight in SQL. PostgreSQL uses one statement-level trigger per table; SQLite
only has row-level triggers, one per table and operation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_worklist5"
down_revision: str | None = "0003_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WATCHED = ("user_account", "user_role", "api_client", "reading_agreement")
_OPERATIONS = ("INSERT", "UPDATE", "DELETE")
_BUMP = "UPDATE access_epoch SET value = value + 1 WHERE id = 1"
_PG_FUNCTION = "radbridge_bump_access_epoch"


def _create_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN {_BUMP}; RETURN NULL; END $$"
        )
        for table in _WATCHED:
            op.execute(
                f"CREATE TRIGGER trg_{table}_access_epoch AFTER INSERT OR UPDATE OR DELETE"
                f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()"
            )
        return
    for table in _WATCHED:
        for operation in _OPERATIONS:
            op.execute(
                f"CREATE TRIGGER trg_{table}_{operation.lower()}_access_epoch"
                f" AFTER {operation} ON {table} BEGIN {_BUMP}; END"
            )


def _drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_access_epoch ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}()")
        return
    for table in _WATCHED:
        for operation in _OPERATIONS:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_{operation.lower()}_access_epoch")


def upgrade() -> None:
    epoch = op.create_table(
        "access_epoch",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_epoch")),
    )
    op.bulk_insert(epoch, [{"id": 1, "value": 0}])
    _create_triggers()
    op.add_column(
        "worklist_item",
        sa.Column("critical", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "worklist_item",
        sa.Column("critical_source", sa.String(16), nullable=False, server_default=""),
    )
    op.create_index(
        "ix_worklist_event_reader", "worklist_event", ["tenant_id", "reader_org_id", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_worklist_event_reader", table_name="worklist_event")
    with op.batch_alter_table("worklist_item") as batch:
        batch.drop_column("critical_source")
        batch.drop_column("critical")
    _drop_triggers()
    op.drop_table("access_epoch")
