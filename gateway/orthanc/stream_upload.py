"""``POST /instances`` with a body still arriving: a large STOW-RS part goes on while it comes in.

Store-and-forward made a 15 MB radiograph wait for its whole upload before Orthanc saw a byte
(issue 3, P2). This uploader runs in the gateway's event loop and sends what it is given as
it is given (chunked transfer encoding; Orthanc stores only once the last chunk is in). An
earlier try passed chunks to a worker thread and lost to the GIL handoffs, so here nothing
changes threads and the chunks are about a megabyte each.

A body that turns out bad is abandoned mid-way with :class:`Abandon`: the connection is
closed before the last chunk, and Orthanc stores nothing. Each upload has a connection of its
own (no keep-alive): a kept-open connection that Orthanc closed while idle could not be sent
again, since the body is not kept for a second try.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterable
from typing import cast

import httpx

from gateway.orthanc.errors import OrthancUnavailable
from gateway.orthanc.records import UploadResult
from gateway.orthanc.uploader import upload_outcome


class Abandon(Exception):
    """Raised into the body to stop an upload before Orthanc has the whole instance."""


class StreamingUploader:
    """Stores one instance from an async stream of byte chunks; one client per event loop."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        max_connections: int = 16,
        read_timeout_s: float = 120.0,
        connect_timeout_s: float = 2.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._auth = (username, password)
        self._timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=0)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]
        self._clients = weakref.WeakKeyDictionary()

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = httpx.AsyncClient(auth=self._auth, timeout=self._timeout, limits=self._limits)
            self._clients[loop] = client
        return client

    async def upload(self, body: AsyncIterable[bytes | memoryview]) -> UploadResult:
        """Store the instance ``body`` yields; raise ``Abandon`` if the body raised it.

        Raises ``OrthancRejected`` (4xx) or ``OrthancUnavailable`` (5xx, unreachable, timed out)
        like the pooled uploader.
        """
        headers = {"Content-Type": "application/dicom"}
        try:
            # httpx hands each piece to the socket as it is: views save copying a megabyte.
            content = cast("AsyncIterable[bytes]", body)
            response = await self._client().post(
                f"{self.url}/instances", content=content, headers=headers
            )
        except Abandon:
            raise
        except httpx.TimeoutException as exc:
            raise OrthancUnavailable("Orthanc did not answer the upload in time") from exc
        except httpx.HTTPError as exc:
            raise OrthancUnavailable(f"Orthanc unreachable: {type(exc).__name__}") from exc
        return upload_outcome(response.status_code, response.content)
