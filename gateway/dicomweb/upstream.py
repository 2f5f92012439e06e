"""The loopback Orthanc DICOMweb plugin (``/dicom-web/``) as the gateway's read back end.

Only the gateway talks to it, with Orthanc's credentials, bounded connect/read timeouts and
streamed bodies; callers pass paths built from validated UIDs only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx

from gateway.orthanc.config import DICOMWEB_ROOT
from services.kit.errors import AppError, NotFound, ServiceUnavailable
from services.kit.settings import get_settings

CHUNK = 64 * 1024
log = logging.getLogger("radbridge.dicomweb")


class UpstreamRefused(AppError):
    """Orthanc refused a read for a reason the caller can act on (e.g. unsupported media type)."""

    status_code = 406
    code = "not_acceptable"


@dataclass
class Streamed:
    """An open upstream answer whose body is read in chunks, then closed."""

    response: httpx.Response

    @property
    def media_type(self) -> str:
        """Return the upstream Content-Type (multipart boundaries included)."""
        return str(self.response.headers.get("content-type", "application/octet-stream"))

    def chunks(self) -> Iterator[bytes]:
        """Yield the body, closing the upstream connection at the end or on abandonment."""
        try:
            yield from self.response.iter_bytes(CHUNK)
        finally:
            self.response.close()

    def close(self) -> None:
        """Close the upstream connection (idempotent)."""
        self.response.close()


class OrthancDicomWeb:
    """A small client of Orthanc's REST root: its DICOMweb plugin plus two lookups."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        connect_timeout_s: float = 2.0,
        read_timeout_s: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.root = self.url + DICOMWEB_ROOT.rstrip("/")
        self._client = httpx.Client(
            auth=(username, password),
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def _send(self, path: str, *, accept: str, params: dict[str, str] | None) -> httpx.Response:
        # Values are pre-validated (digits, ',', '.', '-', letters) and sent unescaped: Orthanc's
        # plugin does not decode "%2C" in "viewport=128%2C128".
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        url = self.url + path + (f"?{query}" if query else "")
        request = self._client.build_request("GET", url, headers={"Accept": accept})
        try:
            response = self._send_again_if_dropped(request)
        except httpx.TimeoutException as exc:
            raise ServiceUnavailable("The image store did not answer in time; retry.") from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable("The image store is unavailable; retry later.") from exc
        if response.status_code >= 400:
            status = response.status_code
            detail = response.read()[:300]
            response.close()
            log.warning("orthanc dicomweb %s (%s) answered %s: %r", path, accept, status, detail)
            if status == 404:
                raise NotFound("The image store has no such object.")
            if status in (400, 406, 415):
                raise UpstreamRefused("The image store cannot answer in the requested format.")
            raise ServiceUnavailable(f"The image store failed ({status}); retry later.")
        return response

    def _send_again_if_dropped(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, once more if Orthanc closed the kept-alive connection under it.

        Orthanc closes a connection idle for ``KeepAliveTimeout`` (1 s); a request sent on it
        at that moment is never read, so sending it again on a new connection is safe.
        """
        try:
            return self._client.send(request, stream=True)
        except httpx.RemoteProtocolError:
            return self._client.send(request, stream=True)

    def stream(self, path: str, *, accept: str, params: dict[str, str] | None = None) -> Streamed:
        """Open ``/dicom-web{path}`` and return it for streaming."""
        return Streamed(self._send(DICOMWEB_ROOT.rstrip("/") + path, accept=accept, params=params))

    def read_json(self, path: str, *, params: dict[str, str] | None = None) -> Any:
        """Return the DICOM JSON of ``/dicom-web{path}``."""
        response = self._send(
            DICOMWEB_ROOT.rstrip("/") + path, accept="application/dicom+json", params=params
        )
        try:
            body = response.read()
        finally:
            response.close()
        return json.loads(body) if body.strip() else []

    def rest_json(self, path: str) -> Any:
        """Return the JSON of an Orthanc REST resource (for ownership checks)."""
        response = self._send(path, accept="application/json", params=None)
        try:
            return json.loads(response.read())
        finally:
            response.close()

    def lookup(self, uid: str) -> list[dict[str, str]]:
        """Return Orthanc resources whose DICOM UID is ``uid`` (``/tools/lookup``)."""
        try:
            response = self._client.post(self.url + "/tools/lookup", content=uid.encode())
        except httpx.HTTPError as exc:
            raise ServiceUnavailable("The image store is unavailable; retry later.") from exc
        if response.status_code >= 400:
            raise ServiceUnavailable(f"The image store failed ({response.status_code}).")
        found: list[dict[str, str]] = response.json()
        return found


@lru_cache
def orthanc_dicomweb() -> OrthancDicomWeb:
    """Return the process's DICOMweb back end (override it in tests)."""
    o = get_settings().orthanc
    return OrthancDicomWeb(o.url, o.username, o.password.get_secret_value())
