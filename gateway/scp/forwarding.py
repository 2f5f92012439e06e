"""The far side of the SCP's spool: store each spooled instance in Orthanc and note its owner.

The SCP's hot path (receive, check, spool, acknowledge) and this work share nothing but the
spool folder, so ``radbridge gateway dicom`` runs them in two processes: in one interpreter the
forwarders' HTTP and database work competed with pynetdicom for the same lock, and a modality
waits for every response. Tests and embedded callers may still forward in threads of the SCP's
own process (``DicomGateway(forward_in_process=True)``).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gateway.ingest.recently_seen import RecentlySeen
from gateway.ingest.registration import SCP_UPLOADER_PREFIX
from gateway.orthanc.errors import OrthancRejected, OrthancUnavailable
from gateway.orthanc.port import OrthancPort
from gateway.scp.spool import Retry, Sent, Spool
from services.kit.db import session_scope
from services.kit.errors import Conflict
from services.kit.storage import ObjectStore
from services.quarantine import service as quarantine
from services.study import origin as study_origin

log = logging.getLogger("radbridge.scp")
_NOTE_TTL_S = 60.0


def quarantine_instance(
    store: ObjectStore,
    session_factory: sessionmaker[Session] | None,
    sent: Sent,
    data: bytes,
    code: str,
    reason: str,
) -> None:
    """Keep ``data`` for an admin with the reason; a release re-applies the node's settings."""
    key = f"{sent.tenant_id}/quarantine/{uuid.uuid4().hex}.dcm"
    store.put(key, data, "application/dicom")
    with session_scope(session_factory) as session:
        quarantine.hold(
            session,
            source="dicom",
            reason_code=code,
            reason=reason,
            tenant_id=uuid.UUID(sent.tenant_id),
            organization_id=uuid.UUID(sent.organization_id),
            object_key=key,
            dicom_node_id=uuid.UUID(sent.node_id),  # a release re-applies its charset override
        )
    log.warning("instance from %s quarantined: %s", sent.ae_title, code)


@dataclass
class Forwarder:
    """Stores one spooled instance in Orthanc for good, or quarantines it (the spool's deliver)."""

    orthanc: OrthancPort
    store: ObjectStore
    session_factory: sessionmaker[Session] | None = None
    # Remembered for a minute only: a study purged from Orthanc (and from study_origin) and
    # sent again later must be noted again.
    _owners: RecentlySeen[tuple[uuid.UUID, str], bool] = field(
        default_factory=lambda: RecentlySeen(ttl_s=_NOTE_TTL_S)
    )

    def deliver(self, data: bytes, sent: Sent) -> None:
        """Store ``data`` and record its owner; raise ``Retry`` when that cannot be done now."""
        try:
            result = self.orthanc.upload_instance(data)
        except OrthancUnavailable as exc:
            raise Retry(f"image store unavailable: {exc}") from exc
        except OrthancRejected as exc:
            self._quarantine(sent, data, "store_refused", f"refused by the image store: {exc}")
            return
        try:
            self._note_owner(sent, result.parent_study)
        except Conflict as exc:  # stored under another clinic's study: never mix the two
            self.orthanc.delete_instance(result.orthanc_id)
            self._quarantine(sent, data, "owner_conflict", exc.message)
        except SQLAlchemyError as exc:  # stored, not yet owned: the retry notes it
            raise Retry("database unavailable") from exc

    def _note_owner(self, sent: Sent, orthanc_study_id: str) -> None:
        key = (uuid.UUID(sent.organization_id), orthanc_study_id)
        if self._owners.get(key):
            return
        with session_scope(self.session_factory) as session:
            study_origin.note_upload(
                session,
                orthanc_study_id=orthanc_study_id,
                tenant_id=uuid.UUID(sent.tenant_id),
                organization_id=uuid.UUID(sent.organization_id),
                source="dicom",
                uploaded_by=f"{SCP_UPLOADER_PREFIX}{sent.ae_title}",
            )
        self._owners.put(key, True)

    def _quarantine(self, sent: Sent, data: bytes, code: str, reason: str) -> None:
        quarantine_instance(self.store, self.session_factory, sent, data, code, reason)


def run_forwarder(spool_dir: Path, workers: int = 2) -> None:
    """Forward the spool until SIGTERM or until the SCP process that started us is gone.

    The entry point of the forwarder process: everything is built from the settings, which
    the process inherits from ``radbridge gateway dicom`` through its environment.
    """
    from gateway.api.dependencies import object_store, orthanc_client

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the SCP stops us once it has drained
    parent = os.getppid()
    forwarder = Forwarder(orthanc_client(), object_store())
    spool = Spool(spool_dir, forwarder.deliver, workers=workers)

    def orphaned() -> bool:
        return os.getppid() != parent  # the SCP died without stopping us: so do we

    spool.forward_folder(stop, give_up=orphaned)
