"""One HTTP POST to an admin-configured URL, classified: 2xx ok, 408/429/5xx retry, else fail."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from services.delivery import guard
from services.delivery.channels.base import Outcome
from services.delivery.settings import DeliverySettings

RETRY_STATUSES = {408, 425, 429}
SERVER_ERROR = 500


def post(url: str, body: bytes, headers: dict[str, str], settings: DeliverySettings) -> Outcome:
    """POST ``body`` to ``url`` (no redirects, no proxies from the environment)."""
    guard.check_url(url, allow_private=settings.allow_private_network)
    host = urlsplit(url).netloc
    try:
        with httpx.Client(
            timeout=settings.timeout_s, follow_redirects=False, trust_env=False
        ) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        return Outcome.retry(f"{host} did not answer before the timeout.")
    except httpx.TransportError as exc:
        return Outcome.retry(f"Could not reach {host}: {type(exc).__name__}: {exc}.")
    ack = f"HTTP {response.status_code}"
    if response.is_success:
        location = response.headers.get("location", "")
        return Outcome.ok(ack, detail=location[:500])
    text = response.text[:300].strip()
    error = f"{host} answered HTTP {response.status_code}: {text or response.reason_phrase}"
    if response.status_code >= SERVER_ERROR or response.status_code in RETRY_STATUSES:
        return Outcome.retry(error, ack)
    return Outcome.failed(error, ack)
