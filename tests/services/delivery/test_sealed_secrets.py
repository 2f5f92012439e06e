"""Channel secrets are sealed at rest, still used for delivery, and a wrong key fails clearly."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from services.delivery import secrets
from services.kit.settings import get_settings
from services.models import Delivery, DeliveryChannel
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.delivery import peers
from tests.services.delivery.conftest import (
    add_channel,
    queued_deliveries,
    run_until_settled,
    sign_and_render,
)

SECRET = "hook-secret-0123456789abcdef"


def test_seal_round_trip_and_legacy_plaintext() -> None:
    settings = get_settings()
    channel = uuid.uuid4()
    sealed = secrets.seal(settings, channel, SECRET)
    assert sealed.startswith(secrets.PREFIX)
    assert SECRET not in sealed
    assert secrets.unseal(settings, channel, sealed) == SECRET
    assert secrets.unseal(settings, channel, "stored-before-sealing") == "stored-before-sealing"
    assert secrets.unseal(settings, channel, None) is None
    with pytest.raises(secrets.SecretUnreadable, match="recreating the channel"):
        secrets.unseal(settings, uuid.uuid4(), sealed)  # bound to its channel's id


def test_secret_is_sealed_in_the_database_and_still_signs(
    api: Api, consortium: Consortium, use_database: Database
) -> None:
    with peers.http_endpoint(status=200) as hook:
        created = add_channel(
            api, consortium, {"kind": "webhook", "url": hook.base + "/h", "secret": SECRET}
        )
        with use_database.factory() as session:
            stored = session.scalar(
                select(DeliveryChannel.secret).where(DeliveryChannel.id == uuid.UUID(created["id"]))
            )
        assert stored is not None
        assert SECRET not in stored
        sign_and_render(api, consortium, use_database)
        (delivery_id,) = queued_deliveries()
        assert run_until_settled(delivery_id)[0] == "DELIVERED"
        assert hook.requests[0]["headers"]["X-RadBridge-Signature"].startswith("sha256=")


def test_an_unreadable_secret_fails_the_delivery_with_advice(
    api: Api,
    consortium: Consortium,
    use_database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created = add_channel(
        api, consortium, {"kind": "webhook", "url": "http://127.0.0.1:9/h", "secret": SECRET}
    )
    other = secrets.seal(get_settings(), uuid.uuid4(), SECRET)  # sealed for another channel
    with use_database.factory.begin() as session:
        session.execute(
            update(DeliveryChannel)
            .where(DeliveryChannel.id == uuid.UUID(created["id"]))
            .values(secret=other)
        )
    sign_and_render(api, consortium, use_database)
    (delivery_id,) = queued_deliveries()
    assert run_until_settled(delivery_id)[0] == "nothing to do"
    with use_database.factory() as session:
        delivery = session.get(Delivery, uuid.UUID(delivery_id))
        assert delivery is not None
        assert delivery.status == "FAILED"
        assert "recreating the channel" in delivery.last_error


def test_secrets_are_length_checked(api: Api, consortium: Consortium) -> None:
    url = f"/api/v1/organizations/{consortium.clinic_a.id}/delivery-channels"
    short = {"kind": "webhook", "url": "http://example.org/h", "secret": "short"}
    assert api.post(consortium.consortium_admin, url, short).status_code == 422
    long = {**short, "secret": "x" * 300}
    assert api.post(consortium.consortium_admin, url, long).status_code == 422
