"""A CSC API v2 signing service standing in for the CA's: a real HTTP server on a free port.

Only what RadBridge calls: ``oauth2/token`` (client credentials), ``credentials/list``,
``credentials/info`` and ``signatures/signHash``; each checks the bearer token. ``refuse_with``
makes every call answer that HTTP status (a revoked client, a CA outage).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from tests.services.report.signing_ca import Issued

CLIENT_ID, CLIENT_SECRET, TOKEN = "radbridge", "s3cret", "token-abc"
SHA256_ECDSA = "1.2.840.10045.4.3.2"
SHA256 = "2.16.840.1.101.3.4.2.1"


@dataclass
class CscPeer:
    """The service's state: credentials (id -> signer and chain) and what it was asked."""

    credentials: dict[str, tuple[Issued, list[Issued]]]
    url: str = ""
    refuse_with: int | None = None
    calls: list[str] = field(default_factory=list)

    def handle(  # noqa: PLR0911 - one answer per endpoint and refusal, as a router would
        self, path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        self.calls.append(path)
        if self.refuse_with is not None:
            return self.refuse_with, {"error": "access_denied"}
        if path == "/oauth2/token":
            form = dict(p.split("=", 1) for p in body.decode().split("&"))
            if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
                return 401, {"error": "invalid_client"}
            return 200, {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600}
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"error": "invalid_token"}
        request = json.loads(body or b"{}")
        if path == "/csc/v2/credentials/list":
            return 200, {"credentialIDs": sorted(self.credentials)}
        credential = self.credentials.get(request.get("credentialID", ""))
        if credential is None:
            return 400, {"error": "invalid_request", "error_description": "credentialID"}
        if path == "/csc/v2/credentials/info":
            return 200, self._info(*credential)
        if path == "/csc/v2/signatures/signHash":
            return self._sign(credential[0], request)
        return 404, {"error": "not_found"}

    @staticmethod
    def _info(signer: Issued, chain: list[Issued]) -> dict[str, Any]:
        der = [c.cert.public_bytes(serialization.Encoding.DER) for c in (signer, *chain)]
        return {
            "key": {"status": "enabled", "algo": [SHA256_ECDSA], "len": 256},
            "cert": {
                "status": "valid",
                "certificates": [base64.b64encode(d).decode() for d in der],
            },
            "authMode": "implicit",
            "SCAL": "1",
            "multisign": 1,
        }

    @staticmethod
    def _sign(signer: Issued, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if request.get("hashAlgorithmOID") != SHA256 or request.get("signAlgo") != SHA256_ECDSA:
            return 400, {"error": "invalid_request", "error_description": "algorithm"}
        prehashed = ec.ECDSA(utils.Prehashed(hashes.SHA256()))
        signatures = [
            base64.b64encode(signer.key.sign(base64.b64decode(h), prehashed)).decode()
            for h in request["hashes"]
        ]
        return 200, {"signatures": signatures}


@contextmanager
def serve(peer: CscPeer) -> Iterator[CscPeer]:
    """Run ``peer`` on 127.0.0.1 until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, payload = peer.handle(self.path, self.headers, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    peer.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
