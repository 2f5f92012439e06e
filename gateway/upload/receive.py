"""Write one PATCH body into an upload, verifying its checksum, and survive a cut link.

Without a checksum, the bytes that arrived before a disconnect are kept (the client resumes
after them); with one, a chunk counts only when it arrived whole and matched, since a partial
chunk cannot be verified. A body that stalls longer than the idle timeout is cut off, so a
dead link does not hold the upload's lock.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect

from gateway.upload.protocol import Checksum, ChecksumMismatch, TusError
from gateway.upload.store import UploadInfo, UploadStore


class BodyStalled(TusError):
    """The client stopped sending in the middle of a chunk."""

    status_code = 408
    code = "upload_stalled"


class LinkCut(Exception):
    """The client went away mid-chunk; what could be kept was kept."""


async def receive_chunk(
    body: AsyncIterator[bytes],
    store: UploadStore,
    info: UploadInfo,
    checksum: Checksum | None,
    idle_timeout_s: float,
) -> int:
    """Append the body to the upload at its offset; return the new bytes counted."""
    hasher = checksum.hasher() if checksum else None
    written = 0
    with store.open_for_append(info) as data:
        while True:
            try:
                chunk = await asyncio.wait_for(anext(body), timeout=idle_timeout_s)
            except StopAsyncIteration:
                break
            except (ClientDisconnect, TimeoutError) as exc:
                if hasher is None and written:
                    store.commit(info, data, written)
                if isinstance(exc, TimeoutError):
                    raise BodyStalled(
                        f"No bytes for {idle_timeout_s:.0f} s; resume from Upload-Offset "
                        f"{info.offset}."
                    ) from exc
                raise LinkCut from exc
            if info.offset + written + len(chunk) > info.length:
                raise TusError(
                    f"The chunk goes past the declared Upload-Length of {info.length} bytes."
                )
            data.write(chunk)
            written += len(chunk)
            if hasher is not None:
                hasher.update(chunk)
        if (
            checksum is not None
            and hasher is not None
            and not hmac.compare_digest(hasher.digest(), checksum.digest)
        ):
            raise ChecksumMismatch(
                f"The chunk does not match its {checksum.algorithm} checksum and was "
                f"discarded; send it again from offset {info.offset}."
            )
        store.commit(info, data, written)
    return written
