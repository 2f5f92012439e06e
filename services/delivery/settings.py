"""Delivery settings (``RADBRIDGE_DELIVERY__*``): retry policy, SSRF guard, the SMTP relay."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeliverySettings(BaseSettings):
    """How reports leave RadBridge; the platform's own SMTP relay is operator-configured."""

    model_config = SettingsConfigDict(env_prefix="RADBRIDGE_DELIVERY__", extra="ignore")

    # Off in production: admin-entered hosts may not point at loopback, link-local or private
    # networks (SSRF). Tests and single-site installs with the HIS on the LAN turn it on.
    allow_private_network: bool = False
    max_attempts: int = 5
    timeout_s: float = 15.0
    lease_s: int = 120  # a SENDING delivery older than this is re-queued by the sweeper
    calling_ae_title: str = "RADBRIDGE"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "reports@radbridge.local"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: SecretStr | None = None


@lru_cache
def get_delivery_settings() -> DeliverySettings:
    """Return the delivery settings of this process."""
    return DeliverySettings()
