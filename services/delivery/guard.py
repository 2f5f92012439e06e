"""SSRF guard for admin-entered destinations: only http(s), and no internal addresses.

Hosts are resolved and every address is checked, at configuration time and again right before
each send (a name may be re-pointed later). Cloud metadata addresses are refused always.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from services.kit.errors import InvalidInput

_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeDestination(InvalidInput):
    """A destination that RadBridge refuses to contact."""

    code = "unsafe_destination"


def _internal(address: IpAddress) -> bool:
    # Not globally routable: loopback, link-local, RFC 1918/4193, shared and reserved ranges.
    return not address.is_global


def check_address(address: IpAddress, *, allow_private: bool) -> None:
    """Raise ``UnsafeDestination`` for an address a delivery may not go to."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address in _METADATA or address.is_unspecified or address.is_multicast:
        raise UnsafeDestination(f"The address {address} is not allowed as a delivery target.")
    if not allow_private and _internal(address):
        raise UnsafeDestination(
            f"The address {address} is internal (loopback, link-local or private); "
            "deliveries to internal networks are disabled on this platform."
        )


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """Resolve ``host`` and check every address; return the first one to connect to."""
    if not host or len(host) > 253 or any(c in host for c in "/\\@ \t\r\n"):
        raise UnsafeDestination(f"'{host}' is not a valid host name.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeDestination(f"The host name '{host}' does not resolve.") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        check_address(address, allow_private=allow_private)
    return str(addresses[0])


def check_url(url: str, *, allow_private: bool) -> str:
    """Return ``url`` if it is an http(s) URL to an allowed host, else raise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeDestination("Only http:// and https:// URLs may be used for deliveries.")
    if parts.username or parts.password:
        raise UnsafeDestination("Put credentials in the channel's secret, not in the URL.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeDestination("The URL has an invalid port.") from exc
    resolve(parts.hostname or "", port, allow_private=allow_private)
    return url
