"""A bare tus 1.0 client on httpx, to drive the protocol request by request in tests."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import httpx

TUS = {"Tus-Resumable": "1.0.0"}


def metadata(**values: str) -> str:
    return ",".join(
        f"{key.replace('_', '-')} {base64.b64encode(v.encode()).decode()}"
        for key, v in values.items()
    )


def checksum(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


@dataclass
class Tus:
    base: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {**TUS, "Authorization": f"Bearer {self.token}"}

    def create(self, length: int, **meta: str) -> httpx.Response:
        headers = {**self.auth, "Upload-Length": str(length)}
        if meta:
            headers["Upload-Metadata"] = metadata(**meta)
        return httpx.post(f"{self.base}/uploads/", headers=headers, timeout=30)

    def patch(
        self,
        url: str,
        offset: int,
        data: bytes,
        algorithm: str | None = "sha256",
        digest: str | None = None,
    ) -> httpx.Response:
        headers = {
            **self.auth,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        }
        if algorithm:
            headers["Upload-Checksum"] = digest or checksum(data, algorithm)
        return httpx.patch(url, headers=headers, content=data, timeout=120)

    def head(self, url: str) -> httpx.Response:
        return httpx.head(url, headers=self.auth, timeout=30)

    def delete(self, url: str) -> httpx.Response:
        return httpx.delete(url, headers=self.auth, timeout=30)

    def status(self, url: str) -> httpx.Response:
        return httpx.get(url, headers=self.auth, timeout=120)

    def send(self, data: bytes, chunk: int = 16 * 1024, **meta: str) -> str:
        """Upload ``data`` whole in chunks; return the upload URL."""
        created = self.create(len(data), **meta)
        assert created.status_code == 201, created.text
        url = created.headers["location"]
        for offset in range(0, len(data), chunk):
            response = self.patch(url, offset, data[offset : offset + chunk])
            assert response.status_code == 204, response.text
        return url
