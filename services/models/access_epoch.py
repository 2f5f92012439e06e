"""A single counter that moves whenever who-may-do-what changes (accounts, roles, agreements).

Database triggers (migration ``0004_worklist5``) bump it in the same transaction as any insert,
update or delete on ``user_account``, ``user_role``, ``api_client`` and ``reading_agreement``,
so even a change made straight in SQL is seen. API processes cache principals and scopes
tagged with the counter and re-read them when it moved: revocation stays immediate while a
request costs one primary-key read instead of re-reading the account and its roles.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.db import Base

ROW_ID = 1


class AccessEpoch(Base):
    """The one row (id 1) holding the current access epoch."""

    __tablename__ = "access_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
