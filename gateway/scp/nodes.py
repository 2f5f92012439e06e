"""Which calling AE titles may associate with the gateway's DICOM SCP, read from our database.

The database is the only source of truth: a node disabled or deleted there is refused at the
next association, without waiting for a sync to Orthanc.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from gateway.ingest import senders
from gateway.ingest.admission import Sender
from services.kit.db import session_scope
from services.tenant import service as tenant_service


@dataclass(frozen=True)
class AdmittedNode:
    """A registered node that opened an association, with what storing for it needs."""

    ae_title: str
    tenant_id: uuid.UUID
    node_id: uuid.UUID
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
            sender = senders.for_node(session, node)
            if sender is None:
                return None
            return AdmittedNode(
                ae_title=node.ae_title, tenant_id=node.tenant_id, node_id=node.id, sender=sender
            )
