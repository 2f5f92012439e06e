"""The gateway's DICOM SCP: modalities C-STORE here, never straight into Orthanc.

At association the calling AE title (and, in production, the peer's host) is checked against
our database; anything unregistered is rejected (A-ASSOCIATE-RJ, "calling AE title not
recognized"). Each instance then goes through the same gate as STOW-RS (validation, patient
namespacing, the node's character-set override), is written to the spool and acknowledged;
forwarders store it in Orthanc over its loopback REST API while the next instances arrive
(``gateway/scp/spool.py``: an acknowledged instance is on disk until Orthanc holds it; the
forwarders run in a process of their own under ``radbridge gateway dicom``, see
``gateway/scp/forwarding.py``).
Instances that fail validation are quarantined with their reason and answered with a failure
status. C-ECHO answers for registered nodes only (they are the only ones to associate).
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import cast

from pydicom.dataset import Dataset
from pynetdicom import ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.ae import ApplicationEntity
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.events import Event
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer
from sqlalchemy.exc import SQLAlchemyError

from gateway.ingest.admission import admit
from gateway.orthanc.port import OrthancPort
from gateway.scp import pacing
from gateway.scp.contexts import SharedContexts
from gateway.scp.forwarding import Forwarder, quarantine_instance
from gateway.scp.nodes import AdmittedNode, NodeDirectory
from gateway.scp.part10 import part10_file
from gateway.scp.spool import Sent, Spool
from services.kit.storage import ObjectStore

log = logging.getLogger("radbridge.scp")
# Rewriting needs little-endian, non-deflated data (deflate is a zip-bomb vector as well).
REFUSED_SYNTAXES = {"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"}
TRANSFER_SYNTAXES = [ts for ts in ALL_TRANSFER_SYNTAXES if ts not in REFUSED_SYNTAXES]
_NOBODY = "\\"  # a value no AE title can have: rejects every caller
SUCCESS = 0x0000
REFUSED_NOT_AUTHORIZED = 0x0124
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000
PROCESSING_FAILURE = 0x0110


class _CheckedEntity(ApplicationEntity):
    """An AE whose allowed calling AE titles are decided per association, from the database.

    pynetdicom reads ``require_calling_aet`` inside the association's own thread while it
    negotiates; answering there with "this caller, if registered" keeps the check at
    association time without a static list to keep in sync.
    """

    def __init__(self, ae_title: str, decide: NodeAdmission) -> None:
        super().__init__(ae_title)
        self._decide = decide

    @property
    def require_calling_aet(self) -> list[str]:
        assoc = threading.current_thread()
        if not isinstance(assoc, Association):
            return [_NOBODY]
        node = self._decide.admit(assoc)
        return [node.ae_title] if node else [_NOBODY]

    @require_calling_aet.setter
    def require_calling_aet(self, ae_titles: list[str]) -> None:
        raise AttributeError(f"calling AE titles come from the dicom_node table: {ae_titles}")


@dataclass
class NodeAdmission:
    """Remembers which node each live association belongs to."""

    directory: NodeDirectory
    nodes: weakref.WeakKeyDictionary[Association, AdmittedNode] = field(
        default_factory=weakref.WeakKeyDictionary
    )

    def admit(self, assoc: Association) -> AdmittedNode | None:
        """Look the caller up once per association (pynetdicom asks twice)."""
        known = self.nodes.get(assoc)
        if known is not None:
            return known
        calling, peer = assoc.requestor.ae_title, assoc.requestor.address
        try:
            node = self.directory.admit(calling, peer)
        except SQLAlchemyError:  # no database, no way to know the caller: refuse, retry later
            log.exception("association refused: node directory unavailable")
            return None
        if node is None:
            log.warning("association refused: calling AE %r from %s", calling, peer)
            return None
        self.nodes[assoc] = node
        return node


def _status(code: int, comment: str = "") -> Dataset:
    status = Dataset()
    status.Status = code
    if comment:
        status.ErrorComment = comment[:64]
    return status


@dataclass
class DicomGateway:
    """The SCP: receives, checks, namespaces and forwards to Orthanc."""

    ae_title: str
    orthanc: OrthancPort
    store: ObjectStore
    directory: NodeDirectory
    spool_dir: Path
    max_associations: int = 16
    timeout_s: float = 30.0
    forwarders: int = 2
    # False: another process forwards the spool (``forwarding.run_forwarder``), as
    # ``radbridge gateway dicom`` runs it; True: threads of this process do.
    forward_in_process: bool = True
    _server: ThreadedAssociationServer | None = field(default=None, init=False)
    _pacer: pacing.ReactorPacer = field(init=False)
    _admission: NodeAdmission = field(init=False)
    spool: Spool = field(init=False)

    def __post_init__(self) -> None:
        self._admission = NodeAdmission(self.directory)
        forwarder = Forwarder(self.orthanc, self.store, self.directory.session_factory)
        deliver = forwarder.deliver if self.forward_in_process else None
        self.spool = Spool(self.spool_dir, deliver, workers=self.forwarders)

    def build_entity(self) -> ApplicationEntity:
        """Return the configured pynetdicom AE (storage SOP classes + verification)."""
        ae = _CheckedEntity(self.ae_title, self._admission)
        ae.require_called_aet = True
        ae.maximum_associations = self.max_associations
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.timeout_s
        ae.maximum_pdu_size = 1024 * 1024  # fewer, larger PDUs: less Python per byte
        for context in AllStoragePresentationContexts:
            assert context.abstract_syntax is not None
            ae.add_supported_context(context.abstract_syntax, TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        return ae

    def start(self, host: str, port: int) -> tuple[str, int]:
        """Forward what an earlier run spooled, listen in background threads; return the address."""
        self.spool.start()
        pacing.wake_acceptors_on_messages()
        handlers: list[evt.EventHandlerType] = [
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_CONN_OPEN, pacing.prompt_connection),
        ]
        server = self.build_entity().start_server((host, port), block=False, evt_handlers=handlers)
        assert server is not None  # block=False returns the running server
        server.contexts = SharedContexts(server.contexts)
        self._server = server
        self._pacer = pacing.ReactorPacer(lambda: server.active_associations)
        self._pacer.start()
        bound: tuple[str, int] = server.server_address[:2]
        log.info("DICOM SCP %s listening on %s:%s", self.ae_title, *bound)
        return bound

    def stop(self, drain_s: float = 10.0) -> None:
        """Stop listening, give the spool ``drain_s`` to empty, stop the forwarders."""
        if self._server is not None:
            self._pacer.stop()
            self._server.shutdown()
            self._server = None
        if not self.spool.drain(drain_s):
            log.warning("%d spooled instance(s) left for the next start", self.spool.pending)
        self.spool.stop()

    def _on_store(self, event: Event) -> Dataset | int:
        """Check the instance, spool it and answer; forwarders store it in Orthanc."""
        node = self._admission.nodes.get(event.assoc)
        if node is None:
            return _status(REFUSED_NOT_AUTHORIZED, "calling AE title not registered")
        sent = Sent(
            ae_title=node.ae_title,
            tenant_id=str(node.tenant_id),
            organization_id=str(node.sender.organization_id),
            node_id=str(node.node_id),
        )
        request = cast(C_STORE, event.request)
        data = part10_file(
            cast(BytesIO, request.DataSet).getvalue(),
            sop_class_uid=str(request.AffectedSOPClassUID),
            sop_instance_uid=str(request.AffectedSOPInstanceUID),
            transfer_syntax=str(event.context.transfer_syntax),
        )
        admitted = admit(data, node.sender)
        if not admitted.verdict.ok:
            quarantine_instance(
                self.store,
                self.directory.session_factory,
                sent,
                data,
                admitted.verdict.reason_code,
                admitted.verdict.reason,
            )
            return _status(CANNOT_UNDERSTAND, admitted.verdict.reason)
        try:
            self.spool.put(admitted.data, sent)
        except OSError as exc:
            log.error("cannot spool an instance from %s: %s", node.ae_title, exc)
            return _status(OUT_OF_RESOURCES, "gateway storage full or unwritable; retry later")
        return SUCCESS
