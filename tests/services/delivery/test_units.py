"""Pure delivery rules: backoff, retry decisions, ACK parsing, webhook signatures, the guard."""

from __future__ import annotations

import ipaddress

import pytest

from services.delivery import guard, policy
from services.delivery.channels.mllp import frame, parse_ack
from services.delivery.channels.webhook import signature

pytestmark = pytest.mark.unit


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [policy.backoff_s(n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert policy.backoff_s(30) == 120.0


@pytest.mark.parametrize(
    ("result", "attempts", "status"),
    [
        ("delivered", 1, "DELIVERED"),
        ("retry", 1, "RETRYING"),
        ("retry", 3, "FAILED"),
        ("failed", 1, "FAILED"),
    ],
)
def test_next_status(result: policy.Result, attempts: int, status: str) -> None:
    assert policy.next_status(result, attempts=attempts, max_attempts=3) == status


def _ack(code: str, control_id: str = "C1", text: str = "") -> str:
    return f"MSH|^~\\&|HIS|H|RB|R|20260101||ACK|A77|P|2.5.1\rMSA|{code}|{control_id}|{text}\r"


@pytest.mark.parametrize(
    ("code", "result"),
    [("AA", "delivered"), ("CA", "delivered"), ("AE", "retry"), ("AR", "failed")],
)
def test_ack_codes(code: str, result: str) -> None:
    outcome = parse_ack(_ack(code, text="bad PID"), "C1")
    assert outcome.result == result
    assert outcome.ack_id == "A77"
    if result != "delivered":
        assert f"{code} (NACK): bad PID" in outcome.error


def test_ack_for_another_message_or_garbage_is_retried() -> None:
    assert parse_ack(_ack("AA", "OTHER"), "C1").result == "retry"
    assert "not an HL7 ACK" in parse_ack("HTTP/1.1 200 OK", "C1").error


def test_mllp_frame() -> None:
    assert frame("MSH|x") == b"\x0bMSH|x\x1c\x0d"


def test_webhook_signature_is_hmac_sha256() -> None:
    assert (
        signature("k", b"{}")
        == "sha256=add853b103fbcc936a194f9eb15e29c4ff08af6e47d5d1bca4f20218e31e4fff"
    )
    assert signature("k", b"{}") != signature("k2", b"{}")


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "192.168.1.1", "169.254.1.1", "::1", "fc00::1", "100.64.0.1"],
)
def test_internal_addresses_need_the_private_network_setting(address: str) -> None:
    ip = ipaddress.ip_address(address)
    with pytest.raises(guard.UnsafeDestination):
        guard.check_address(ip, allow_private=False)
    guard.check_address(ip, allow_private=True)


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "fd00:ec2::254", "0.0.0.0", "::ffff:169.254.169.254", "224.0.0.1"],
)
def test_metadata_and_unspecified_are_always_refused(address: str) -> None:
    with pytest.raises(guard.UnsafeDestination):
        guard.check_address(ipaddress.ip_address(address), allow_private=True)


def test_public_address_is_allowed() -> None:
    guard.check_address(ipaddress.ip_address("8.8.8.8"), allow_private=False)
