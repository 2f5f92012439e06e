"""The signer port: a local key today, a CA's remote signing service (SM2) tomorrow."""

from __future__ import annotations

from typing import Protocol


class ReportSigner(Protocol):
    """Signs a report's canonical content (detached CMS) and its PDF (PAdES)."""

    @property
    def certificate_pem(self) -> bytes:
        """Return the signer's certificate."""
        ...

    def sign_content(self, content: bytes) -> bytes:
        """Return a detached CMS SignedData (DER) over ``content``."""
        ...

    def sign_pdf(self, pdf: bytes, *, reason: str, name: str, field: str = ...) -> bytes:
        """Return ``pdf`` with a PAdES signature appended in ``field`` (incremental update).

        A countersigned report is signed twice: the author's field, then the reviewer's.
        """
        ...
