"""The gateway's DICOM SCP: modalities C-STORE here, never straight into Orthanc.

At association the calling AE title (and, in production, the peer's host) is checked against
our database; anything unregistered is rejected (A-ASSOCIATE-RJ, "calling AE title not
recognized"). Each instance then goes through the same gate as STOW-RS (validation, patient
namespacing, the node's character-set override) and is stored in Orthanc over its loopback
REST API before the C-STORE is acknowledged, so an acknowledged instance is in Orthanc.
Instances that fail validation are quarantined with their reason and answered with a failure
status. C-ECHO answers for registered nodes only (they are the only ones to associate).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pynetdicom import ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.ae import ApplicationEntity
from pynetdicom.association import Association
from pynetdicom.events import Event
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer
from sqlalchemy.exc import SQLAlchemyError

from gateway.ingest.admission import admit
from gateway.ingest.registration import SCP_UPLOADER_PREFIX
from gateway.orthanc.errors import OrthancRejected, OrthancUnavailable
from gateway.orthanc.port import OrthancPort
from gateway.scp.nodes import AdmittedNode, NodeDirectory
from services.kit.db import session_scope
from services.kit.errors import Conflict
from services.kit.storage import ObjectStore
from services.quarantine import service as quarantine
from services.study import origin as study_origin

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
_NOTE_TTL_S = 60.0


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
    max_associations: int = 16
    timeout_s: float = 30.0
    _server: ThreadedAssociationServer | None = field(default=None, init=False)
    _noted: dict[tuple[uuid.UUID, str], float] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _admission: NodeAdmission = field(init=False)

    def __post_init__(self) -> None:
        self._admission = NodeAdmission(self.directory)

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
        """Listen in background threads; return the bound address."""
        handlers: list[evt.EventHandlerType] = [
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_CONN_OPEN, _no_delay),
        ]
        server = self.build_entity().start_server((host, port), block=False, evt_handlers=handlers)
        assert server is not None  # block=False returns the running server
        self._server = server
        bound: tuple[str, int] = server.server_address[:2]
        log.info("DICOM SCP %s listening on %s:%s", self.ae_title, *bound)
        return bound

    def stop(self) -> None:
        """Stop listening and close the server socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def _on_store(self, event: Event) -> Dataset | int:
        node = self._admission.nodes.get(event.assoc)
        if node is None:
            return _status(REFUSED_NOT_AUTHORIZED, "calling AE title not registered")
        data = event.encoded_dataset(include_meta=True)
        admitted = admit(data, node.sender)
        if not admitted.verdict.ok:
            self._quarantine(node, data, admitted.verdict.reason_code, admitted.verdict.reason)
            return _status(CANNOT_UNDERSTAND, admitted.verdict.reason)
        return self._forward(node, admitted.data)

    def _forward(self, node: AdmittedNode, data: bytes) -> Dataset | int:
        """Store in Orthanc and record the owner; map failures to C-STORE statuses."""
        try:
            result = self.orthanc.upload_instance(data)
            self._note_owner(node, result.parent_study)
        except OrthancUnavailable:
            return _status(OUT_OF_RESOURCES, "image store unavailable; retry later")
        except OrthancRejected as exc:
            return _status(PROCESSING_FAILURE, f"refused by the image store: {exc}")
        except Conflict as exc:
            return _status(REFUSED_NOT_AUTHORIZED, exc.message)
        except SQLAlchemyError:  # stored, but not yet owned: the device's retry notes it
            log.exception("could not record the owner of a C-STORE from %s", node.ae_title)
            return _status(OUT_OF_RESOURCES, "database unavailable; retry later")
        return SUCCESS

    def _note_owner(self, node: AdmittedNode, orthanc_study_id: str) -> None:
        # Remembered for a minute only: a study purged from Orthanc (and from study_origin)
        # and sent again later must be noted again.
        key = (node.sender.organization_id, orthanc_study_id)
        now = time.monotonic()
        with self._lock:
            if now - self._noted.get(key, -_NOTE_TTL_S) < _NOTE_TTL_S:
                return
        with session_scope(self.directory.session_factory) as session:
            study_origin.note_upload(
                session,
                orthanc_study_id=orthanc_study_id,
                tenant_id=node.tenant_id,
                organization_id=node.sender.organization_id,
                source="dicom",
                uploaded_by=f"{SCP_UPLOADER_PREFIX}{node.ae_title}",
            )
        with self._lock:
            if len(self._noted) > 10_000:
                self._noted.clear()
            self._noted[key] = now

    def _quarantine(self, node: AdmittedNode, data: bytes, code: str, reason: str) -> None:
        key = f"{node.tenant_id}/quarantine/{uuid.uuid4().hex}.dcm"
        self.store.put(key, data, "application/dicom")
        with session_scope(self.directory.session_factory) as session:
            quarantine.hold(
                session,
                source="dicom",
                reason_code=code,
                reason=reason,
                tenant_id=node.tenant_id,
                organization_id=node.sender.organization_id,
                object_key=key,
            )
        log.warning("instance from %s quarantined: %s", node.ae_title, code)


def _no_delay(event: Event) -> None:
    """Send each PDU at once (Nagle cost DCMTK C-STORE ~24x here; same idea on our side)."""
    sock = getattr(event.assoc.dul.socket, "socket", None)
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
