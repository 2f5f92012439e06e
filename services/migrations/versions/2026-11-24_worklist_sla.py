"""worklist SLA, claims and assignment, notifications, reader profiles, patient index

Revision ID: 0002_worklist_sla
Revises: 0001
Create Date: 2026-11-24 23:40:00

Columns are added with plain ALTER TABLE ADD COLUMN (also on SQLite), so the table is not
rebuilt and indexes made by sibling revisions stay as they are.
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models._types
from services.domain.patient_match import keys_of

revision: str = "0002_worklist_sla"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = services.models._types.UtcDateTime
_ASSIGNED_FK = "fk_worklist_item_assigned_to_id_user_account"
_ITEM_TIMES = ("assigned_at", "first_claimed_at", "reported_at", "escalated_at", "breached_at")


def _add_columns() -> None:
    op.add_column(
        "reading_agreement",
        sa.Column("assignment_mode", sa.String(8), nullable=False, server_default="pull"),
    )
    op.add_column(
        "reading_agreement",
        sa.Column("lock_minutes", sa.Integer(), nullable=False, server_default="30"),
    )
    op.add_column(
        "reading_agreement",
        sa.Column("sla_warn_minutes", sa.Integer(), nullable=False, server_default="15"),
    )
    op.add_column("worklist_item", sa.Column("assigned_to_id", sa.Uuid(), nullable=True))
    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot ALTER in a constraint
        op.create_foreign_key(
            _ASSIGNED_FK, "worklist_item", "user_account", ["assigned_to_id"], ["id"]
        )
    for name in _ITEM_TIMES:
        op.add_column("worklist_item", sa.Column(name, _TS(timezone=True), nullable=True))
    op.add_column(
        "worklist_item",
        sa.Column("sla_category", sa.String(32), nullable=False, server_default=""),
    )
    op.execute("UPDATE worklist_item SET first_claimed_at = claimed_at")
    op.create_index("ix_worklist_lock_expiry", "worklist_item", ["status", "lock_expires_at"])
    op.create_index("ix_worklist_due", "worklist_item", ["status", "due_at"])
    op.create_index(
        "ix_worklist_assigned", "worklist_item", ["tenant_id", "assigned_to_id", "status"]
    )


def _create_tables() -> None:
    op.create_table(
        "sla_policy",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id"), nullable=False),
        sa.Column(
            "agreement_id",
            sa.Uuid(),
            sa.ForeignKey("reading_agreement.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("working_hours", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS(timezone=True), nullable=False),
        sa.UniqueConstraint("agreement_id", "category"),
    )
    op.create_index("ix_sla_policy_tenant_id", "sla_policy", ["tenant_id"])
    op.create_table(
        "patient_index",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id"), nullable=False),
        sa.Column(
            "study_id",
            sa.Uuid(),
            sa.ForeignKey("study.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("issuer", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("birth_date", sa.String(8), nullable=False),
        sa.Column("sex", sa.String(8), nullable=False),
        sa.Column("created_at", _TS(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_patient_index_identity", "patient_index", ["tenant_id", "issuer", "patient_id"]
    )
    op.create_index(
        "ix_patient_index_name_birth", "patient_index", ["tenant_id", "name_key", "birth_date"]
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id"), nullable=False),
        sa.Column("recipient_org_id", sa.Uuid(), sa.ForeignKey("organization.id"), nullable=False),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column(
            "worklist_item_id",
            sa.Uuid(),
            sa.ForeignKey("worklist_item.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("study_id", sa.Uuid(), nullable=True),
        sa.Column("message", sa.String(300), nullable=False),
        sa.Column("created_at", _TS(timezone=True), nullable=False),
        sa.Column("read_at", _TS(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_notification_recipient",
        "notification",
        ["tenant_id", "recipient_org_id", "created_at"],
    )
    op.create_index("ix_notification_worklist_item_id", "notification", ["worklist_item_id"])
    op.create_table(
        "reader_profile",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id"), nullable=False),
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("subspecialties", sa.JSON(), nullable=False),
        sa.Column("max_open_items", sa.Integer(), nullable=False),
        sa.Column("accepts_push", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _TS(timezone=True), nullable=False),
    )
    op.create_index("ix_reader_profile_tenant_id", "reader_profile", ["tenant_id"])


def _backfill_patient_index() -> None:
    bind = op.get_bind()
    study = sa.table(
        "study",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("patient_id_issuer", sa.String()),
        sa.column("patient_id", sa.String()),
        sa.column("patient_name", sa.String()),
        sa.column("patient_birth_date", sa.String()),
        sa.column("patient_sex", sa.String()),
        sa.column("received_at", _TS(timezone=True)),
    )
    index = sa.table(
        "patient_index",
        *(sa.column(n, sa.Uuid()) for n in ("id", "tenant_id", "study_id")),
        *(sa.column(n, sa.String()) for n in ("issuer", "patient_id", "name_key")),
        *(sa.column(n, sa.String()) for n in ("birth_date", "sex")),
        sa.column("created_at", _TS(timezone=True)),
    )
    for row in bind.execute(sa.select(study)):
        keys = keys_of(
            issuer=row.patient_id_issuer,
            patient_id=row.patient_id,
            name=row.patient_name,
            birth_date=row.patient_birth_date,
            sex=row.patient_sex,
        )
        bind.execute(
            index.insert().values(
                id=uuid.uuid4(),
                tenant_id=row.tenant_id,
                study_id=row.id,
                issuer=keys.issuer,
                patient_id=keys.patient_id,
                name_key=keys.name_key,
                birth_date=keys.birth_date,
                sex=keys.sex,
                created_at=row.received_at,
            )
        )


def upgrade() -> None:
    _add_columns()
    _create_tables()
    _backfill_patient_index()


def downgrade() -> None:
    for table in ("reader_profile", "notification", "patient_index", "sla_policy"):
        op.drop_table(table)
    for name in ("ix_worklist_assigned", "ix_worklist_due", "ix_worklist_lock_expiry"):
        op.drop_index(name, table_name="worklist_item")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(_ASSIGNED_FK, "worklist_item", type_="foreignkey")
    with op.batch_alter_table("worklist_item") as batch:
        for name in ("assigned_to_id", "sla_category", *_ITEM_TIMES):
            batch.drop_column(name)
    with op.batch_alter_table("reading_agreement") as batch:
        for name in ("assignment_mode", "lock_minutes", "sla_warn_minutes"):
            batch.drop_column(name)
