"""report signing: consortium CA, signing identities, report content signatures

Revision ID: 0002_report_signing
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models._types

revision: str = "0002_report_signing"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_authority",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("certificate_pem", sa.LargeBinary(), nullable=False),
        sa.Column("key_pem", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", services.models._types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_signing_authority_tenant_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_authority")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_signing_authority_tenant_id")),
    )
    op.create_table(
        "signing_identity",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("certificate_pem", sa.LargeBinary(), nullable=False),
        sa.Column("key_pem", sa.LargeBinary(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", services.models._types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_signing_identity_tenant_id_tenant")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_signing_identity_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_identity")),
        sa.UniqueConstraint(
            "user_id", "fingerprint", name=op.f("uq_signing_identity_user_id_fingerprint")
        ),
    )
    with op.batch_alter_table("signing_identity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signing_identity_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_signing_identity_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_signature", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("signer_identity_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_report_signer_identity_id_signing_identity"),
            "signing_identity",
            ["signer_identity_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_report_signer_identity_id_signing_identity"), type_="foreignkey"
        )
        batch_op.drop_column("signer_identity_id")
        batch_op.drop_column("content_signature")
    with op.batch_alter_table("signing_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_identity_user_id"))
        batch_op.drop_index(batch_op.f("ix_signing_identity_tenant_id"))
    op.drop_table("signing_identity")
    op.drop_table("signing_authority")
