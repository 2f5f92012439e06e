"""How a consortium handles critical values (危急值): what notifies, and how fast to escalate.

Read from the consortium's settings (``Tenant.settings["critical_values"]``); unset keys take
defaults that follow common Chinese hospital practice: the clinic confirms receipt within
10 minutes, the reader documents the phone call within 15 minutes of signing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class CriticalPolicy:
    """One consortium's rules; every duration is in minutes."""

    notify_ai_findings: bool = False  # AI is advisory: off unless the consortium opts in
    ack_minutes: int = 10
    phone_log_minutes: int = 15
    max_escalations: int = 3

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> CriticalPolicy:
        """Return the policy in ``settings`` (the tenant's JSON), defaults for what is unset."""
        raw = dict((settings or {}).get("critical_values") or {})
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        return cls(**known)

    def ack_overdue(self, last_notified_at: datetime, now: datetime) -> bool:
        """Tell whether the clinic has had longer than allowed to acknowledge."""
        return now - last_notified_at >= timedelta(minutes=self.ack_minutes)

    def call_overdue(self, signed_at: datetime, now: datetime) -> bool:
        """Tell whether the phone call should have been logged by now."""
        return now - signed_at >= timedelta(minutes=self.phone_log_minutes)
