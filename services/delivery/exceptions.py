"""Delivery errors."""

from __future__ import annotations

from services.kit.errors import Conflict, NotFound


class ChannelNotFound(NotFound):
    """No such channel, or it belongs to another consortium or organization."""

    code = "delivery_channel_not_found"


class OrganizationNotFound(NotFound):
    """No such organization in the caller's consortium."""

    code = "organization_not_found"


class DeliveryNotReady(Conflict):
    """The report is not signed or its PDF is not rendered yet."""

    code = "delivery_not_ready"


class DeliveryInProgress(Conflict):
    """A delivery of this report version over this channel is already queued or sending."""

    code = "delivery_in_progress"


class DeliveryRetry(Exception):
    """A transient failure was recorded; the task is retried with backoff."""
