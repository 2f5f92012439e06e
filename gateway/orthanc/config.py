"""Render Orthanc 1.10.1's JSON configuration from typed values.

Orthanc silently ignores keys it does not know, so every key below was checked against the
default configuration that ``Orthanc --config=FILE`` prints for 1.10.1 (a test repeats that
check). Notes on what 1.10.1 lacks are in ``docs`` of the fields that need them.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gateway.orthanc.records import DicomNode, check_ae_title

DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
DICOMWEB_ROOT = "/dicom-web/"
LOOPBACK = "127.0.0.1"


def modality_json(node: DicomNode) -> dict[str, object]:
    """Return the Orthanc description of a node: it may C-ECHO and C-STORE, nothing else.

    The same object is used in the configuration file and in ``PUT /modalities/{name}``. C-FIND,
    C-MOVE, C-GET and worklists stay off: a clinic must not query other clinics' studies.
    """
    return {
        "AET": node.aet,
        "Host": node.host,
        "Port": node.port,
        "AllowEcho": True,
        "AllowStore": True,
        "AllowFind": False,
        "AllowFindWorklist": False,
        "AllowGet": False,
        "AllowMove": False,
        "AllowStorageCommitment": False,
    }


@dataclass(frozen=True, slots=True)
class OrthancConfig:
    """Everything that varies between Orthanc deployments; the rest is fixed hardening.

    Parameters
    ----------
    state_dir
        Folder holding ``storage/`` (DICOM files), ``index/`` (SQLite) and ``tmp/``.
    http_port
        REST port. Orthanc 1.10.1 has no bind-address option: it listens on all interfaces,
        and ``RemoteAccessAllowed=false`` makes it answer 401 to any non-loopback client. Keep
        the port firewalled or in a private network namespace as well.
    dicom_port
        C-STORE port, reachable from the clinic network.
    stable_age_s
        Seconds without a new instance before a study is reported ``StableStudy``.
    nodes
        DICOM nodes accepted at start-up; the gateway keeps them in sync through the REST API.
    check_modality_host
        Also require the node's registered host to match the peer IP (off for local use).
    """

    state_dir: Path
    http_port: int
    dicom_port: int
    username: str
    password: str = field(repr=False)
    dicom_aet: str = "RADBRIDGE"
    stable_age_s: int = 5
    nodes: tuple[DicomNode, ...] = ()
    check_modality_host: bool = False
    # Off when the gateway's own DICOM SCP fronts Orthanc (it forwards over loopback REST):
    # Orthanc 1.10.1 cannot bind its DICOM port to loopback only.
    dicom_server_enabled: bool = True
    name: str = "RadBridge"
    dicomweb_plugin: Path | None = DICOMWEB_PLUGIN
    limit_find_results: int = 100
    http_threads: int = 50
    http_request_timeout_s: int = 30
    dicom_scp_timeout_s: int = 30
    malloc_arena_max: int = 5

    def __post_init__(self) -> None:
        check_ae_title(self.dicom_aet)
        for port in (self.http_port, self.dicom_port):
            if not 0 < port < 65536:
                raise ValueError(f"invalid port: {port}")
        if self.http_port == self.dicom_port:
            raise ValueError("HTTP and DICOM ports must differ")
        if self.stable_age_s < 1:
            raise ValueError("stable_age_s must be at least 1 second")
        if not self.username or ":" in self.username or not self.password:
            raise ValueError("a username without ':' and a password are required")
        names = [n.name for n in self.nodes]
        aets = [n.aet for n in self.nodes]
        if len(set(names)) != len(names) or len(set(aets)) != len(aets):
            raise ValueError("node names and AE titles must be unique")

    @property
    def storage_dir(self) -> Path:
        """Return the folder of the DICOM files."""
        return self.state_dir / "storage"

    @property
    def index_dir(self) -> Path:
        """Return the folder of the SQLite index."""
        return self.state_dir / "index"

    @property
    def temporary_dir(self) -> Path:
        """Return the folder of Orthanc's large temporary files (must exist before start)."""
        return self.state_dir / "tmp"

    @property
    def http_url(self) -> str:
        """Return the loopback URL of the REST API."""
        return f"http://{LOOPBACK}:{self.http_port}"

    def to_dict(self) -> dict[str, object]:
        """Return the configuration as Orthanc reads it."""
        return {
            "Name": self.name,
            **self._storage(),
            **self._http(),
            **self._dicom(),
            **self._lockdown(),
            "Plugins": [str(self.dicomweb_plugin)] if self.dicomweb_plugin else [],
            "DicomWeb": {
                "Enable": self.dicomweb_plugin is not None,
                "Root": DICOMWEB_ROOT,
                "EnableWado": False,  # WADO-URI: the viewer uses WADO-RS only
                "Ssl": False,
            },
        }

    def to_json(self) -> str:
        """Return the configuration as JSON text."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def write(self, path: Path) -> Path:
        """Write the configuration atomically, readable by its owner only (it holds a password).

        Also creates the state folders, since Orthanc requires the temporary folder to exist.
        """
        for folder in (self.state_dir, self.storage_dir, self.index_dir, self.temporary_dir):
            folder.mkdir(parents=True, exist_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".orthanc-", suffix=".json", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp creates it 0600
            handle.write(self.to_json())
        Path(tmp_name).replace(path)
        return path

    def _storage(self) -> dict[str, object]:
        return {
            "StorageDirectory": str(self.storage_dir),
            "IndexDirectory": str(self.index_dir),
            "TemporaryDirectory": str(self.temporary_dir),
            "StorageCompression": False,
            # 1.10.1 has no "MaximumStorageMode": a size or patient limit makes it RECYCLE
            # (delete the oldest patients). Never set them; watch the disk instead.
            "MaximumStorageSize": 0,
            "MaximumPatientCount": 0,
            "OverwriteInstances": False,
            "StableAge": self.stable_age_s,
            "MallocArenaMax": self.malloc_arena_max,
        }

    def _http(self) -> dict[str, object]:
        return {
            "HttpServerEnabled": True,
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True,
            "RegisteredUsers": {self.username: self.password},
            "SslEnabled": False,
            "HttpThreadsCount": self.http_threads,
            "HttpRequestTimeout": self.http_request_timeout_s,
            "KeepAlive": True,
            "TcpNoDelay": True,
            "HttpCompressionEnabled": False,  # loopback only: gzip would just burn CPU
            "HttpDescribeErrors": True,  # the gateway reads "Message"/"Details" for its errors
        }

    def _dicom(self) -> dict[str, object]:
        return {
            "DicomServerEnabled": self.dicom_server_enabled,
            "DicomAet": self.dicom_aet,
            "DicomPort": self.dicom_port,
            "DicomCheckCalledAet": True,
            "DicomCheckModalityHost": self.check_modality_host,
            # Exact AE title match, consistent with the case-sensitive unique key in our database.
            "StrictAetComparison": True,
            "DicomAlwaysAllowEcho": False,
            "DicomAlwaysAllowStore": False,
            "DicomAlwaysAllowFind": False,
            "DicomAlwaysAllowFindWorklist": False,
            "DicomAlwaysAllowGet": False,
            "DicomAlwaysAllowMove": False,
            "UnknownSopClassAccepted": False,
            # Deflated transfer syntax inflates without limit in 1.10.1 (zip-bomb class of bugs).
            "DeflatedTransferSyntaxAccepted": False,
            "DicomScpTimeout": self.dicom_scp_timeout_s,
            # Nodes come from this file at start and from PUT /modalities at run time; our
            # database is the source of truth, so Orthanc's own copy is not persisted.
            "DicomModalitiesInDatabase": False,
            "DicomModalities": {n.name: modality_json(n) for n in self.nodes},
            "LimitFindResults": self.limit_find_results,
            "LimitFindInstances": self.limit_find_results,
        }

    @staticmethod
    def _lockdown() -> dict[str, object]:
        return {
            "ExecuteLuaEnabled": False,
            "RestApiWriteToFileSystemEnabled": False,  # Debian backport (CVE-2023-33466)
            "LuaScripts": [],
            "WebDavEnabled": False,
            "WebDavDeleteAllowed": False,
            "WebDavUploadAllowed": False,
            "OrthancExplorerEnabled": False,
            "OrthancPeers": {},
            "OrthancPeersInDatabase": False,
            "DicomTlsEnabled": False,  # C-STORE ingress must come through a VPN/TLS tunnel
        }
