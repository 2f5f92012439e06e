"""Signing with a key held by RadBridge (the local default), through pyHanko."""

from __future__ import annotations

import asyncio
import io

from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

FIELD_NAME = "RadBridgeReportSignature"
REVIEWER_FIELD_NAME = "RadBridgeReviewerSignature"  # the senior's countersignature (双签)


def pades_metadata(*, reason: str, name: str, field: str) -> signers.PdfSignatureMetadata:
    """Return the PAdES B-B signature metadata every RadBridge report signature uses."""
    return signers.PdfSignatureMetadata(
        field_name=field,
        reason=reason,
        name=name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )


class LocalSigner:
    """A radiologist's key and certificate, with the consortium CA certificate as chain."""

    def __init__(
        self, *, certificate_pem: bytes, key_pem: bytes, passphrase: bytes, chain_pem: bytes
    ) -> None:
        self._certificate_pem = certificate_pem
        (cert,) = list(load_certs_from_pemder_data(certificate_pem))
        chain = list(load_certs_from_pemder_data(chain_pem))
        self._signer = signers.SimpleSigner(
            signing_cert=cert,
            signing_key=load_private_key_from_pemder_data(key_pem, passphrase=passphrase),
            cert_registry=SimpleCertificateStore.from_certs([cert, *chain]),  # type: ignore[no-untyped-call]
        )

    @property
    def certificate_pem(self) -> bytes:
        """Return the signer's certificate."""
        return self._certificate_pem

    def sign_content(self, content: bytes) -> bytes:
        """Return a detached CMS SignedData (DER) over ``content``."""
        signed = asyncio.run(self._signer.async_sign_general_data(content, "sha256", detached=True))
        return bytes(signed.dump())

    def sign_pdf(self, pdf: bytes, *, reason: str, name: str, field: str = FIELD_NAME) -> bytes:
        """Return ``pdf`` with a PAdES B-B signature appended in signature field ``field``."""
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        meta = pades_metadata(reason=reason, name=name, field=field)
        out = signers.sign_pdf(writer, meta, signer=self._signer)
        signed: bytes = out.getvalue()
        return signed
