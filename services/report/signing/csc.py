"""A client of the CA's Cloud Signature Consortium API v2 service: token, credentials, signHash.

pyHanko's ``CSCSigner`` does the CMS work; it formats ``signatures/signHash`` after CSC v1
(``hash``, ``hashAlgo``), so ``_CscV2Signer`` re-states the request with the v2 names
(``hashes``, ``hashAlgorithmOID``). Authorization is the OAuth2 client-credentials token: the CA
scopes it to the credentials it may use (SCAL 1), so no ``credentials/authorize`` round trip.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from asn1crypto import algos
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.csc_signer import (
    CSCAuthorizationInfo,
    CSCAuthorizationManager,
    CSCCredentialInfo,
    CSCServiceSessionInfo,
    CSCSigner,
    fetch_certs_in_csc_credential,
)

from services.kit.settings import RemoteSigningSettings
from services.report.signing.exceptions import RemoteSigningFailed

T = TypeVar("T")


class _TokenAuthorization(CSCAuthorizationManager):
    """The bearer token already authorizes the credential; there is no SAD to fetch."""

    async def authorize_signature(self, hash_b64s: list[str]) -> CSCAuthorizationInfo:  # noqa: ARG002 - pyHanko's signature
        return CSCAuthorizationInfo(sad="")


class SignHashFailed(Exception):
    """``signatures/signHash`` failed; raised past pyHanko, which would log and hide the cause."""


class _CscV2Signer(CSCSigner):
    async def commit(self) -> None:
        try:
            await super().commit()  # type: ignore[no-untyped-call]
        except SigningError as exc:
            raise SignHashFailed(str(exc)) from exc

    async def format_csc_signing_req(
        self, tbs_hashes: list[str], digest_algorithm: str
    ) -> dict[str, Any]:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)  # type: ignore[no-untyped-call]
        auth = await self.auth_manager.authorize_signature(tbs_hashes)
        request: dict[str, Any] = {
            "credentialID": self.auth_manager.csc_session_info.credential_id,
            "hashes": tbs_hashes,
            "hashAlgorithmOID": algos.DigestAlgorithmId(digest_algorithm).dotted,
            "signAlgo": mechanism["algorithm"].dotted,
        }
        if auth.sad:
            request["SAD"] = auth.sad
        if mechanism["parameters"].native is not None:
            request["signAlgoParams"] = base64.b64encode(mechanism["parameters"].dump()).decode()
        return request


def _reason(exc: BaseException) -> str:
    """Name what went wrong, looking through pyHanko's SigningError at the HTTP failure."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, aiohttp.ClientResponseError):
            return f"it answered HTTP {seen.status} ({seen.message})"
        if isinstance(seen, aiohttp.ClientConnectionError | OSError):
            return "it is unreachable"
        if isinstance(seen, TimeoutError):
            return "it did not answer in time"
        seen = seen.__cause__ or seen.__context__
    return f"it gave an unusable answer ({exc})"


class CscService:
    """One configured CSC v2 service; every call opens its own HTTP session."""

    def __init__(self, settings: RemoteSigningSettings) -> None:
        if not settings.service_url:
            raise RemoteSigningFailed("Remote signing is not configured (no service URL).")
        self._settings = settings
        self._base = settings.service_url.rstrip("/")

    def run(self, work: Callable[[aiohttp.ClientSession, str], Awaitable[T]], doing: str) -> T:
        """Run ``work(http, token)``; any failure becomes one clear ``RemoteSigningFailed``."""

        async def main() -> T:
            timeout = aiohttp.ClientTimeout(total=self._settings.timeout_s)
            async with aiohttp.ClientSession(timeout=timeout) as http:
                return await work(http, await self._token(http))

        try:
            return asyncio.run(main())
        except RemoteSigningFailed:
            raise
        except (
            SigningError,
            SignHashFailed,
            aiohttp.ClientError,
            OSError,
            TimeoutError,
            ValueError,
        ) as exc:
            raise RemoteSigningFailed(
                f"Could not {doing}: the CA's signing service failed, {_reason(exc)}. "
                "Nothing was signed; try again or ask the consortium administrator.",
            ) from exc

    async def _token(self, http: aiohttp.ClientSession) -> str:
        url = self._settings.token_url or f"{self._base}/oauth2/token"
        form = {
            "grant_type": "client_credentials",
            "client_id": self._settings.client_id,
            "client_secret": self._settings.client_secret.get_secret_value(),
        }
        async with http.post(url, data=form, raise_for_status=True) as response:
            token = (await response.json()).get("access_token")
        if not isinstance(token, str) or not token:
            raise ValueError("the token response has no access_token")
        return token

    def session_info(self, credential_id: str, token: str) -> CSCServiceSessionInfo:
        """Return pyHanko's view of this service for one credential."""
        return CSCServiceSessionInfo(self._base, credential_id, oauth_token=token, api_ver="v2")

    async def credential_ids(self, http: aiohttp.ClientSession, token: str) -> list[str]:
        """Call ``credentials/list``: the credentials this client may sign with."""
        url = f"{self._base}/csc/v2/credentials/list"
        headers = {"Authorization": f"Bearer {token}"}
        async with http.post(url, json={}, headers=headers, raise_for_status=True) as response:
            ids = (await response.json()).get("credentialIDs")
        if not isinstance(ids, list):
            raise ValueError("credentials/list returned no credentialIDs")
        return [str(x) for x in ids]

    async def credential(
        self, http: aiohttp.ClientSession, token: str, credential_id: str
    ) -> CSCCredentialInfo:
        """Call ``credentials/info``: the credential's certificate chain and algorithms."""
        return await fetch_certs_in_csc_credential(
            http, self.session_info(credential_id, token), timeout=int(self._settings.timeout_s)
        )

    def signer(
        self, http: aiohttp.ClientSession, token: str, info: CSCCredentialInfo, credential_id: str
    ) -> CSCSigner:
        """Return a pyHanko signer whose raw signatures come from ``signatures/signHash``."""
        auth = _TokenAuthorization(self.session_info(credential_id, token), info)
        return _CscV2Signer(http, auth, sign_timeout=int(self._settings.timeout_s))
