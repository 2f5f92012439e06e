"""The last two files of a batch, counted at the same moment, still finalize it.

With ``radbridge upload --parallel`` the last files of a batch settle together. Under READ
COMMITTED each transaction counts its own file plus the committed ones: without a lock on the
batch row both would count one short and the batch would stay open (and expire into
quarantine). Two real sessions on the test database race here, one held open mid-count.
"""

from __future__ import annotations

import threading
import time

import pytest

from services.models import UploadBatch
from services.study import upload_batch
from tests.fixtures.consortium import build_consortium
from tests.fixtures.databases import Database

pytestmark = pytest.mark.integration


def test_two_files_counted_concurrently_finalize_the_batch(use_database: Database) -> None:
    with use_database.factory.begin() as session:
        consortium = build_consortium(session)
        batch_id = upload_batch.open_batch(
            session,
            tenant_id=consortium.tenant.id,
            organization_id=consortium.clinic_a.id,
            key="b-race",
            expected_files=2,
            created_by="test",
        ).id

    def count(file_key: str, hold_s: float = 0.0) -> None:
        with use_database.factory.begin() as session:
            batch = session.get(UploadBatch, batch_id)
            assert batch is not None
            upload_batch.record_file(
                session, batch=batch, file_key=file_key, upload_id=file_key, instances=1
            )
            time.sleep(hold_s)  # still uncommitted while the other file is counted

    first = threading.Thread(target=count, args=("a", 1.0))
    first.start()
    time.sleep(0.3)  # the first file is counted, not yet committed
    count("b")
    first.join(timeout=30)

    with use_database.factory() as session:
        batch = session.get(UploadBatch, batch_id)
        assert batch is not None
        assert (batch.status, upload_batch.received_files(session, batch_id)) == ("FINALIZED", 2)
