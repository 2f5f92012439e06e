"""Which calling AE titles may associate with the gateway's DICOM SCP, read from our database.

The database is the only source of truth: a node disabled or deleted there is refused at the
next association, without waiting for a sync to Orthanc.
"""

from __future__ import annotations

import logging
import socket
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from gateway.ingest.admission import CHARSET_OVERRIDES, Sender
from services.kit.db import session_scope
from services.models import Organization
from services.tenant import service as tenant_service

log = logging.getLogger("radbridge.scp")


@dataclass(frozen=True)
class AdmittedNode:
    """A registered node that opened an association, with what storing for it needs."""

    ae_title: str
    tenant_id: uuid.UUID
    sender: Sender


def _same_host(registered: str, peer_ip: str) -> bool:
    if registered == peer_ip:
        return True
    try:
        return peer_ip in {info[4][0] for info in socket.getaddrinfo(registered, None)}
    except OSError:
        return False


class NodeDirectory:
    """Looks up calling AE titles (and optionally their host) in the ``dicom_node`` table."""

    def __init__(
        self, session_factory: sessionmaker[Session] | None = None, *, check_host: bool = False
    ) -> None:
        self.session_factory = session_factory
        self._check_host = check_host

    def admit(self, ae_title: str, peer_ip: str) -> AdmittedNode | None:
        """Return the node if ``ae_title`` is registered, enabled (and from its host)."""
        with session_scope(self.session_factory) as session:
            node = tenant_service.find_node_by_ae_title(session, ae_title)
            if node is None or (self._check_host and not _same_host(node.host, peer_ip)):
                return None
            organization = session.get(Organization, node.organization_id)
            if organization is None:
                return None
            override = node.character_set_override
            if override and override not in CHARSET_OVERRIDES:
                log.warning("node %s: unknown character set override %r", node.ae_title, override)
                override = ""
            return AdmittedNode(
                ae_title=node.ae_title,
                tenant_id=node.tenant_id,
                sender=Sender(
                    organization_id=organization.id,
                    patient_id_issuer=organization.patient_id_issuer,
                    charset_override=override,
                ),
            )
