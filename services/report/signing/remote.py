"""Signing through the CA's remote signing service (CSC API v2): the key never leaves the CA.

The same CMS and PAdES structures as ``LocalSigner``; only the raw signature over the signed
attributes is made by ``signatures/signHash``. Each use re-reads ``credentials/info`` and refuses
a certificate other than the one registered, so a re-keyed credential cannot sign unnoticed.
"""

from __future__ import annotations

import io

import aiohttp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.signers.csc_signer import CSCSigner

from services.kit.settings import RemoteSigningSettings
from services.report.signing.certificates import der_of
from services.report.signing.csc import CscService
from services.report.signing.exceptions import RemoteSigningFailed
from services.report.signing.local import FIELD_NAME, pades_metadata


class RemoteSigner:
    """A radiologist's CSC credential, bound to the certificate registered for it."""

    def __init__(
        self, *, settings: RemoteSigningSettings, credential_id: str, certificate_pem: bytes
    ) -> None:
        self._service = CscService(settings)
        self._credential_id = credential_id
        self._certificate_pem = certificate_pem

    @property
    def certificate_pem(self) -> bytes:
        """Return the registered certificate of the credential."""
        return self._certificate_pem

    async def _signer(self, http: aiohttp.ClientSession, token: str) -> CSCSigner:
        info = await self._service.credential(http, token, self._credential_id)
        if info.signing_cert.dump() != der_of(self._certificate_pem):
            raise RemoteSigningFailed(
                "The CA's signing service holds a different certificate for this credential "
                "than the one registered; nothing was signed. Ask the administrator to "
                "register the credential again."
            )
        return self._service.signer(http, token, info, self._credential_id)

    def sign_content(self, content: bytes) -> bytes:
        """Return a detached CMS SignedData (DER) over ``content``."""

        async def work(http: aiohttp.ClientSession, token: str) -> bytes:
            signer = await self._signer(http, token)
            signed = await signer.async_sign_general_data(content, "sha256", detached=True)
            return bytes(signed.dump())

        return self._service.run(work, "sign the report")

    def sign_pdf(self, pdf: bytes, *, reason: str, name: str, field: str = FIELD_NAME) -> bytes:
        """Return ``pdf`` with a PAdES B-B signature appended in signature field ``field``."""
        meta = pades_metadata(reason=reason, name=name, field=field)

        async def work(http: aiohttp.ClientSession, token: str) -> bytes:
            signer = await self._signer(http, token)
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
            out = await signers.async_sign_pdf(writer, meta, signer=signer)
            signed: bytes = out.getvalue()
            return signed

        return self._service.run(work, "sign the report PDF")
