"""The clinic uploader: send files over tus (tuspy), resume after any cut, then close the batch.

Every run of the same PATH continues the same batch: stored files are skipped by fingerprint,
files in flight resume at the server's offset (HEAD), and the batch becomes visible to readers
only when its last file is stored. Connection errors are retried with backoff; refusals
(too large, zip bomb, unsafe zip) are reported per file and not retried.

Up to ``parallel`` files go at once (one thread each, one chunk in memory each), which hides
the round trips of many small files; each file still resumes on its own, and the batch is
closed only after every file has settled.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError
from tusclient.uploader.uploader import Uploader

from gateway.upload.discover import LocalFile, Selection
from gateway.upload.resume_state import NamedFingerprint, ResumeState

_REFUSED = {400, 403, 409, 413, 415, 422}  # the server's final word on this file
_GONE = {404, 410}  # the upload expired or was removed: start the file again


class Sha256Uploader(Uploader):
    """tuspy's uploader with SHA-256 chunk checksums (tuspy defaults to SHA-1)."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


class ProgressSink(Protocol):
    """Where progress goes (a rich progress bar in the CLI; nothing in tests).

    ``file`` and ``advance`` are called from the sending threads.
    """

    def begin(self, total_bytes: int, files: int) -> None:
        """Announce the batch's size."""

    def file(self, name: str) -> None:
        """Announce the file now being sent."""

    def advance(self, sent: int) -> None:
        """Count bytes confirmed by the server."""


class UploadError(Exception):
    """The upload cannot go on; the message says what to do next."""


class _Stopped(Exception):
    """Another file's failure ended the run; this file resumes on the next run."""


@dataclass
class FileOutcome:
    """What became of one file."""

    name: str
    state: str  # stored | already-stored | refused
    instances: int = 0
    refused_instances: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""


@dataclass
class BatchOutcome:
    """What became of one batch of files."""

    batch: str
    files: list[FileOutcome]
    status: dict[str, Any]


def _body(exc: TusCommunicationError) -> dict[str, Any]:
    try:
        body = json.loads(exc.response_content or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _refused(exc: TusCommunicationError) -> bool:
    """Return whether the server refused the file for good (not a race or an outage)."""
    return exc.status_code in _REFUSED and _body(exc).get("error") != "upload_offset_mismatch"


@dataclass
class UploadRunner:
    """Sends selections to one gateway with one token."""

    server: str
    token: str
    state: ResumeState
    progress: ProgressSink
    chunk_size: int = 4 * 1024 * 1024
    retries: int = 20
    retry_wait_s: float = 2.0
    renew_token: Callable[[], str] | None = None  # signs in again when a token expires
    parallel: int = 4  # files sent at once
    declared: dict[str, str] = field(default_factory=dict)  # urgency / patient-type metadata
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _renew_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _renewed(self, status: int | None) -> bool:
        """Replace an expired token (401) when we can sign in again; return whether we did."""
        if status != 401 or self.renew_token is None:
            return False
        with self._renew_lock:  # several files hit the expiry at once: one sign-in at a time
            self.token = self.renew_token()
        return True

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _uploader(self, local: LocalFile, fp: NamedFingerprint, meta: dict[str, str]) -> Uploader:
        client = TusClient(f"{self.server}/uploads/", headers=self._headers)
        uploader: Uploader = Sha256Uploader(
            file_path=str(local.path),
            client=client,
            chunk_size=self.chunk_size,
            metadata=meta,
            store_url=True,
            url_storage=self.state,
            fingerprinter=fp,
            upload_checksum=True,
        )
        return uploader

    def _send_bytes(
        self, local: LocalFile, key: str, fp: NamedFingerprint, meta: dict[str, str]
    ) -> str:
        """Send the file until the server holds all of it; return its upload URL."""
        size = local.path.stat().st_size
        failures = 0
        while True:
            confirmed = 0
            try:
                uploader = self._uploader(local, fp, meta)
                uploader.stop_at = size
                if not uploader.url:  # a re-created upload may hold bytes already
                    uploader.set_url(uploader.create_url())
                    uploader.offset = uploader.get_offset()
                confirmed = uploader.offset
                self.progress.advance(confirmed)
                while uploader.offset < size:
                    if self._stop.is_set():
                        raise _Stopped(local.name)
                    uploader.upload_chunk()  # type: ignore[no-untyped-call]
                    self.progress.advance(uploader.offset - confirmed)
                    confirmed = uploader.offset
                return str(uploader.url)
            except TusCommunicationError as exc:
                self.progress.advance(-confirmed)  # recounted from the server's offset
                if self._renewed(exc.status_code):
                    continue
                failures += 1
                self._after_failure(exc, local.name, key, failures)

    def _after_failure(
        self, exc: TusCommunicationError, name: str, key: str, failures: int
    ) -> None:
        """Raise if the file cannot go on; else wait before the next attempt."""
        if exc.status_code in _GONE:
            self.state.remove_item(key)
        elif _refused(exc):
            raise UploadError(str(_body(exc).get("message") or exc)) from exc
        if failures > self.retries:
            raise UploadError(
                f"{name}: the gateway kept failing ({exc}); re-run the same "
                "command later to resume where it stopped."
            ) from exc
        if self._stop.wait(min(self.retry_wait_s * failures, 30)):
            raise _Stopped(name) from exc

    def _result(self, url: str) -> dict[str, Any]:
        for attempt in range(self.retries):
            try:
                response = requests.get(url, headers=self._headers, timeout=600)
            except requests.RequestException:
                time.sleep(self.retry_wait_s * (attempt + 1))
                continue
            if response.status_code in {423, 503} or self._renewed(response.status_code):
                time.sleep(self.retry_wait_s * (attempt + 1))
                continue
            body: dict[str, Any] = response.json()
            if response.status_code != 200:
                raise UploadError(str(body.get("message", response.text)))
            return body
        raise UploadError("The gateway did not report the upload's result; re-run to resume.")

    def send_file(self, local: LocalFile, batch: str, batch_files: int) -> FileOutcome:
        """Send one file of a batch (or confirm it was stored before)."""
        fp = NamedFingerprint(local.path, local.name)
        key = fp.get_fingerprint(None)  # type: ignore[arg-type]
        self.progress.file(local.name)
        if self.state.is_stored(key):
            self.progress.advance(local.path.stat().st_size)
            return FileOutcome(local.name, "already-stored")
        meta = {
            "filename": local.name,
            "batch": batch,
            "batch-files": str(batch_files),
            "fingerprint": key,  # the server returns the same upload for the same file
            **self.declared,
        }
        try:
            url = self._send_bytes(local, key, fp, meta)
            result = self._result(url)
        except UploadError as exc:
            self.state.remove_item(key)
            return FileOutcome(local.name, "refused", reason=str(exc))
        if result["state"] == "rejected":
            self.state.remove_item(key)
            return FileOutcome(local.name, "refused", reason=result["outcome"].get("reason", ""))
        self.state.mark_stored(key, url)
        outcome = result["outcome"]
        return FileOutcome(
            local.name, "stored", outcome.get("stored", 0), outcome.get("failed", [])
        )

    def batch_status(self, batch: str) -> dict[str, Any]:
        """Return the server's view of a batch."""
        for attempt in range(self.retries):
            try:
                response = requests.get(
                    f"{self.server}/uploads/batches/{batch}", headers=self._headers, timeout=60
                )
            except requests.RequestException:
                time.sleep(self.retry_wait_s * (attempt + 1))
                continue
            status: dict[str, Any] = response.json()
            return status
        raise UploadError("The gateway did not report the batch; re-run to resume.")

    def is_stored(self, local: LocalFile) -> bool:
        """Return whether a previous run stored this file whole."""
        return self.state.is_stored(NamedFingerprint(local.path, local.name).get_fingerprint(None))  # type: ignore[arg-type]

    def send(self, selection: Selection) -> BatchOutcome | None:
        """Send a selection as one batch, continuing the batch a killed run left open.

        Returns None when every file was stored before.
        """
        root = str(selection.root)
        by_name = {f.name: f for f in selection.files}
        names = [f.name for f in selection.files if not self.is_stored(f)]
        if self.state.open_batch_of(root) is None and not names:
            return None
        batch, batch_names = self.state.open_batch(root, names)
        missing = [n for n in batch_names if n not in by_name]
        if missing:
            raise UploadError(
                f"{len(missing)} files of the interrupted batch are gone (e.g. {missing[0]}); "
                "put them back, or delete the resume state file to start a new batch."
            )
        files = [by_name[n] for n in batch_names]
        self.progress.begin(sum(f.path.stat().st_size for f in files), len(files))
        outcomes = self._send_files(files, batch)
        status = self.batch_status(batch)
        if status.get("status") == "FINALIZED":
            self.state.close_batch(root)
        return BatchOutcome(batch, outcomes, status)

    def _send_files(self, files: list[LocalFile], batch: str) -> list[FileOutcome]:
        """Send the batch's files, ``parallel`` at a time; outcomes in the batch's order.

        If one file fails unexpectedly (or Ctrl-C), the others stop after their current chunk
        and nothing new starts: every file keeps its upload URL, so a re-run resumes them all.
        """
        self._stop.clear()
        if self.parallel <= 1:
            return [self.send_file(f, batch, len(files)) for f in files]
        pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="upload")
        futures = [pool.submit(self.send_file, f, batch, len(files)) for f in files]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:
                if future.done() and (error := future.exception()) is not None:
                    raise error
            return [future.result() for future in futures]
        except BaseException:
            self._stop.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
