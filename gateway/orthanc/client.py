"""The Orthanc adapter: ``orthanc_api_client`` with bounded time, retries and typed results.

Two things of the library are replaced on purpose:

* Its retry policy retried read errors and read timeouts of every method 3 times, so one call
  to a hung Orthanc could take 4x its timeout. Here refused connections are retried (twice,
  0.2 s in total), and an idempotent call once when Orthanc closed the kept-alive connection
  under it (see ``DroppedConnectionRetry``); a timeout surfaces at once as
  ``OrthancUnavailable``.
* Its high-level helpers take no timeout, so every call here goes through the library's
  ``get``/``post``/``put``/``delete`` with an explicit ``timeout``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import orthanc_api_client as oac
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from gateway.orthanc import _parse
from gateway.orthanc.config import modality_json
from gateway.orthanc.errors import OrthancNotFound, OrthancRejected, OrthancUnavailable
from gateway.orthanc.records import (
    ChangesPage,
    DicomNode,
    InstanceOrigin,
    StudyInfo,
    UploadResult,
    check_modality_name,
    check_orthanc_id,
)
from gateway.orthanc.uploader import InstanceUploader

if TYPE_CHECKING:
    from gateway.orthanc.port import OrthancPort

Method = Literal["get", "post", "put", "delete"]
_MAX_CHANGES = 10_000  # Orthanc caps a /changes page there anyway
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b")  # zip, gzip: never let Orthanc unpack them


class DroppedConnectionRetry(Retry):
    """Retry an idempotent call after a dropped connection, never after a read timeout.

    Orthanc closes a kept-alive connection once it has been idle ``KeepAliveTimeout`` (1 s); a
    request sent on it at that moment fails with "Remote end closed connection without
    response" before Orthanc has read it, and sending it again on a new connection is the fix.
    A read timeout means Orthanc is stuck, so it is raised at once instead.
    """

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> DroppedConnectionRetry:
        """Raise a read timeout as it is; count anything else as urllib3 does."""
        if isinstance(error, ReadTimeoutError):
            raise error.with_traceback(_stacktrace)
        return super().increment(method, url, response, error, _pool, _stacktrace)


class OrthancClient:
    """Talk to one Orthanc over its loopback REST API.

    Parameters
    ----------
    url
        Root URL of the REST API, e.g. ``http://127.0.0.1:8042``.
    timeout_s
        Read timeout of ordinary calls, in seconds.
    transfer_timeout_s
        Read timeout of calls moving a whole DICOM file.
    connect_timeout_s
        Time allowed to open a TCP connection.
    max_upload_connections
        Uploads in flight at once; more callers wait for a slot (see ``InstanceUploader``).
    """

    def __init__(  # noqa: PLR0913 - each timeout and limit is its own knob
        self,
        url: str,
        username: str,
        password: str,
        *,
        timeout_s: float = 10.0,
        transfer_timeout_s: float = 120.0,
        connect_timeout_s: float = 2.0,
        max_upload_connections: int = 16,
    ) -> None:
        self._api: Any = oac.OrthancApiClient(url.rstrip("/") + "/", user=username, pwd=password)
        session = getattr(self._api, "_http_session", None)
        if not isinstance(session, requests.Session):  # the library changed under us
            raise RuntimeError("orthanc_api_client no longer exposes its requests session")
        retries = DroppedConnectionRetry(
            total=2, connect=2, read=1, status=0, other=0, redirect=0, backoff_factor=0.1
        )
        for prefix in ("http://", "https://"):
            session.mount(prefix, HTTPAdapter(max_retries=retries, pool_maxsize=16))
        self._uploader = InstanceUploader(
            url,
            username,
            password,
            max_connections=max_upload_connections,
            read_timeout_s=transfer_timeout_s,
            connect_timeout_s=connect_timeout_s,
        )
        self._timeout = (connect_timeout_s, timeout_s)
        self._transfer_timeout = (connect_timeout_s, transfer_timeout_s)
        self.url = url

    def close(self) -> None:
        """Release pooled connections."""
        self._api.close()
        self._uploader.close()

    def is_alive(self) -> bool:
        """Return whether Orthanc answers ``/system`` with our credentials within 2 s."""
        try:
            self._call("get", "system", timeout=(1.0, 2.0))
        except (OrthancUnavailable, OrthancRejected):
            return False
        return True

    def get_changes(self, since: int, limit: int = 100) -> ChangesPage:
        """Return up to ``limit`` changes with a sequence number above ``since``."""
        if since < 0 or not 0 < limit <= _MAX_CHANGES:
            raise ValueError(f"need since >= 0 and 0 < limit <= {_MAX_CHANGES}")
        return _parse.changes_page(
            self._json("get", "changes", params={"since": since, "limit": limit})
        )

    def get_study(self, orthanc_id: str) -> StudyInfo:
        """Return a study, its patient fields, series and instance ids (two REST calls)."""
        check_orthanc_id(orthanc_id)
        study = self._json("get", f"studies/{orthanc_id}")
        series = self._json("get", f"studies/{orthanc_id}/series")
        return _parse.study_info(study, series)

    def get_instance_origin(self, instance_id: str) -> InstanceOrigin:
        """Return how and from whom an instance was received."""
        check_orthanc_id(instance_id)
        return _parse.instance_origin(self._json("get", f"instances/{instance_id}/metadata?expand"))

    def get_instance_tags(self, instance_id: str) -> dict[str, str]:
        """Return an instance's text-valued tags by keyword (one REST call, no pixel data)."""
        check_orthanc_id(instance_id)
        tags = self._json("get", f"instances/{instance_id}/simplified-tags")
        if not isinstance(tags, dict):
            return {}
        return {str(k): v for k, v in tags.items() if isinstance(v, str)}

    def get_instance_value(self, instance_id: str, path: Sequence[str]) -> str | None:
        """Return one tag's text, nested in sequences by ``path``; None when it is absent.

        One REST call (``/instances/{id}/content/...``) reads a value deep in a functional
        group without fetching the whole header, which for a many-frame object is large.
        """
        check_orthanc_id(instance_id)
        _parse.check_content_path(path)
        try:
            response = self._call("get", f"instances/{instance_id}/content/{'/'.join(path)}")
        except OrthancNotFound:
            return None
        return _parse.content_text(response.content)

    def series_frame_counts(self, series_id: str) -> list[int]:
        """Return the Number of Frames of each instance of a series (one REST call)."""
        check_orthanc_id(series_id)
        return _parse.frame_counts(self._json("get", f"series/{series_id}/instances"))

    def get_instance_file(self, instance_id: str) -> bytes:
        """Return the stored DICOM file of an instance."""
        check_orthanc_id(instance_id)
        endpoint = f"instances/{instance_id}/file"
        response = self._call("get", endpoint, timeout=self._transfer_timeout)
        content: bytes = response.content
        return content

    def upload_instance(self, data: bytes) -> UploadResult:
        """Store one DICOM instance; storing the same SOP instance again gives ``AlreadyStored``.

        Raises ``ValueError`` for an empty body or an archive (Orthanc would unpack a zip).
        """
        if not data or data.startswith(_ARCHIVE_MAGIC):
            raise ValueError("only a single, non-empty DICOM file may be uploaded")
        return self._uploader.upload(data)  # pooled keep-alive connections, capped

    def delete_instance(self, instance_id: str) -> bool:
        """Delete an instance; return False if it was already gone."""
        check_orthanc_id(instance_id)
        try:
            self._call("delete", f"instances/{instance_id}")
        except OrthancNotFound:
            return False
        return True

    def delete_study(self, orthanc_id: str) -> bool:
        """Delete one study (Orthanc drops its patient only if nothing else is left in it)."""
        check_orthanc_id(orthanc_id)
        try:
            self._call("delete", f"studies/{orthanc_id}")
        except OrthancNotFound:
            return False
        return True

    def list_study_ids(self, since: int = 0, limit: int = 1000) -> list[str]:
        """Return up to ``limit`` Orthanc study ids, skipping the first ``since`` (paging)."""
        if since < 0 or not 0 < limit <= _MAX_CHANGES:
            raise ValueError(f"need since >= 0 and 0 < limit <= {_MAX_CHANGES}")
        payload = self._json("get", "studies", params={"since": since, "limit": limit})
        return _parse.id_list(payload)

    def study_sop_instance_uids(self, orthanc_id: str) -> list[str]:
        """Return the SOP Instance UIDs of every instance of a study (one REST call)."""
        check_orthanc_id(orthanc_id)
        return _parse.sop_instance_uids(self._json("get", f"studies/{orthanc_id}/instances"))

    def study_evidence(self, orthanc_id: str) -> dict[str, list[tuple[str, str]]]:
        """Return SeriesInstanceUID -> [(SOP Class UID, SOP Instance UID)] of a study.

        One SOP class is read per series (its first instance's metadata): a series holds one
        kind of object, so this costs two calls plus one per series, not one per instance.
        """
        check_orthanc_id(orthanc_id)
        by_series = _parse.series_of_instances(self._json("get", f"studies/{orthanc_id}/instances"))
        study = self.get_study(orthanc_id)
        evidence: dict[str, list[tuple[str, str]]] = {}
        for series in study.series:
            uids = by_series.get(series.orthanc_id, [])
            if not uids or not series.instance_ids:
                continue
            first = series.instance_ids[0]
            response = self._call("get", f"instances/{first}/metadata/SopClassUid")
            sop_class = response.text.strip()
            evidence[series.series_instance_uid] = [(sop_class, uid) for uid in uids]
        return evidence

    def instance_count(self) -> int:
        """Return how many instances Orthanc's index holds (``/statistics``)."""
        return _parse.instance_count(self._json("get", "statistics"))

    def attachment_uuid(self, instance_id: str) -> str | None:
        """Return the storage file name of an instance's DICOM file; None if not indexed."""
        check_orthanc_id(instance_id)
        try:
            payload = self._json("get", f"instances/{instance_id}/attachments/dicom/info")
        except OrthancNotFound:
            return None
        return _parse.attachment_uuid(payload)

    def set_modality(self, name: str, aet: str, host: str, port: int) -> None:
        """Create or replace a DICOM node allowed to C-ECHO and C-STORE; effective at once."""
        node = DicomNode(name=name, aet=aet, host=host, port=port)
        self._call("put", f"modalities/{node.name}", json=modality_json(node))

    def delete_modality(self, name: str) -> bool:
        """Remove a DICOM node; return False if it was not registered."""
        check_modality_name(name)
        try:
            self._call("delete", f"modalities/{name}")
        except OrthancNotFound:
            return False
        return True

    def list_modalities(self) -> list[DicomNode]:
        """Return the DICOM nodes Orthanc currently accepts, sorted by name."""
        return _parse.modalities(self._json("get", "modalities?expand"))

    def _json(self, method: Method, endpoint: str, **kwargs: Any) -> object:
        response = self._call(method, endpoint, **kwargs)
        try:
            payload: object = response.json()
        except requests.JSONDecodeError as exc:
            raise OrthancUnavailable(f"Orthanc sent invalid JSON for {endpoint}") from exc
        return payload

    def _call(self, method: Method, endpoint: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        try:
            response = getattr(self._api, method)(endpoint, **kwargs)
        except oac.ResourceNotFound as exc:
            raise OrthancNotFound(f"not found: {endpoint}", orthanc_status=404) from exc
        except oac.HttpError as exc:
            raise _http_error(exc, endpoint) from exc
        except oac.OrthancApiException as exc:  # ConnectionError, TimeoutError
            raise OrthancUnavailable(f"Orthanc unreachable: {exc.msg}") from exc
        except requests.RequestException as exc:
            raise OrthancUnavailable(f"Orthanc unreachable: {type(exc).__name__}") from exc
        if response is None:  # the library swallows some transport errors and returns None
            raise OrthancUnavailable(f"connection to Orthanc broke off during {endpoint}")
        checked: requests.Response = response
        return checked


def _http_error(exc: Any, endpoint: str) -> OrthancRejected | OrthancUnavailable:
    status = exc.http_status_code if isinstance(exc.http_status_code, int) else None
    reason = f"{exc.msg}" if isinstance(exc.msg, str) and exc.msg else f"HTTP {status}"
    if status is not None and status < 500:
        return OrthancRejected(f"{reason} ({endpoint})", orthanc_status=status)
    return OrthancUnavailable(f"{reason} ({endpoint})", orthanc_status=status)


if TYPE_CHECKING:

    def _conforms_to_port(client: OrthancClient) -> OrthancPort:
        return client
