"""Process-wide settings, read once from ``RADBRIDGE_*`` variables and an optional file.

The defaults are the embedded local stack: SQLite, a local folder as object store, a broker-less
Celery transport, and an Orthanc and Triton that ``radbridge up`` starts itself. Production points
the same fields at PostgreSQL, Redis/RabbitMQ, S3 and remote Orthanc/Triton.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = _ROOT / "var"


class DatabaseSettings(BaseModel):
    """Where the platform's own records live."""

    url: str = ""  # empty: SQLite file in the state folder
    echo: bool = False
    pool_size: int = 10


class BrokerSettings(BaseModel):
    """Celery transport; empty url means the broker-less filesystem transport."""

    url: str = ""
    visibility_timeout_s: int = 900
    eager: bool = False  # run tasks in-process (unit tests only)


class StorageSettings(BaseModel):
    """Object store for archives, reports and AI results: a local folder or S3."""

    backend: str = "local"  # "local" | "s3"
    local_root: Path | None = None
    s3_bucket: str = "radbridge"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None


class OrthancSettings(BaseModel):
    """The DICOM store behind the gateway; its REST API stays on loopback."""

    url: str = "http://127.0.0.1:8042"
    username: str = "radbridge"
    password: SecretStr = SecretStr("radbridge-local-orthanc")
    dicom_port: int = 4242
    dicom_aet: str = "RADBRIDGE"
    stable_age_s: int = 5
    manage_locally: bool = True  # `radbridge up` starts it


class TritonSettings(BaseModel):
    """Inference server speaking the KServe v2 protocol."""

    grpc_url: str = "127.0.0.1:8101"
    http_url: str = "127.0.0.1:8100"
    metrics_port: int = 8102
    env_dir: Path | None = None  # virtualenv holding nvidia-pytriton (numpy<2)
    model_repository: Path | None = None
    timeout_s: float = 30.0
    manage_locally: bool = True


class AuthSettings(BaseModel):
    """Token issuing: the platform is its own OAuth2 authorization server by default."""

    issuer: str = "radbridge-local"
    audience: str = "radbridge-api"
    signing_key: SecretStr = SecretStr("change-me-local-development-signing-key-32b")
    access_token_ttl_s: int = 3600
    leeway_s: int = 60


class GatewaySettings(BaseModel):
    """The clinic-facing gateway process (DICOMweb, uploads)."""

    host: str = "127.0.0.1"
    port: int = 8081
    public_url: str = "http://127.0.0.1:8081"
    watch_interval_s: float = 1.0
    # HTTP worker processes: one interpreter uses one core, so STOW-RS on a busy node wants
    # about one per core (the ingest benchmark runs one per core).
    workers: int = Field(default=1, ge=1, le=64)
    upload_max_bytes: int = 4 * 1024**3  # one resumable upload (file or zip); 413 above it
    upload_idle_timeout_s: float = 30.0  # a PATCH body that stalls this long is cut off
    upload_batch_ttl_h: float = 72.0  # an upload batch idle this long goes to quarantine
    # The gateway's DICOM SCP (C-STORE/C-ECHO from registered nodes) on orthanc.dicom_port;
    # Orthanc's own DICOM server is then off and instances reach it over loopback REST.
    dicom_scp: bool = True
    dicom_host: str = "0.0.0.0"  # modalities connect from the clinic network
    dicom_check_host: bool = False  # also require the node's registered host (production)
    dicom_max_associations: int = 16
    reconcile_interval_s: float = 300.0  # beat: Orthanc vs database reconciliation
    reconcile_stuck_after_s: int = 1800  # work older than this with no progress is re-started
    purge_interval_s: float = 3600.0  # beat: retention purge of archived studies


class ApiSettings(BaseModel):
    """The HTTP API process."""

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    max_upload_bytes: int = 512 * 1024 * 1024


class ArchiveSettings(BaseModel):
    """Archiving registered studies; a tenant's ``archive_retention_days`` setting overrides."""

    enabled: bool = True
    retention_days: int = 15 * 365


class DeidSettings(BaseModel):
    """De-identified exports: each consortium's pseudonym key is derived from this secret."""

    secret: SecretStr = SecretStr("change-me-local-development-deidentification-secret")


class RemoteSigningSettings(BaseModel):
    """The CA's remote signing service (Cloud Signature Consortium API v2), OAuth2 client login.

    Consortia whose signing mode is "remote" sign through it (docs/adr/0004-remote-signing.md).
    """

    service_url: str = ""  # base URL before /csc/v2/...; empty: remote signing not configured
    token_url: str = ""  # empty: {service_url}/oauth2/token
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    timeout_s: float = 15.0


class ModelRouteSettings(BaseModel):
    """An AI model version enabled for studies of some modalities."""

    name: str
    version: str
    modalities: list[str]


def _default_models() -> list[ModelRouteSettings]:
    # Image-quality measures apply to any grayscale projection or slice; the model registry
    # (per-tenant subscriptions, manifests) replaces this list.
    return [
        ModelRouteSettings(
            name="image_quality",
            version="1",
            modalities=["CR", "DX", "DR", "MG", "RF", "CT", "MR", "NM"],
        )
    ]


class CoreSettings(BaseSettings):
    """Everything a RadBridge process reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="RADBRIDGE_",
        env_nested_delimiter="__",
        env_file=None,
        extra="ignore",
    )

    state_dir: Path = DEFAULT_STATE_DIR
    environment: str = "local"
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    orthanc: OrthancSettings = Field(default_factory=OrthancSettings)
    triton: TritonSettings = Field(default_factory=TritonSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    archive: ArchiveSettings = Field(default_factory=ArchiveSettings)
    deid: DeidSettings = Field(default_factory=DeidSettings)
    remote_signing: RemoteSigningSettings = Field(default_factory=RemoteSigningSettings)
    ai_models: list[ModelRouteSettings] = Field(default_factory=_default_models)
    job_lease_s: int = 300
    job_max_attempts: int = 5
    # The cloud-film link printed as a QR code on reports; "{study_uid}" is filled in. Empty: none.
    cloud_film_url: str = ""

    @property
    def database_url(self) -> str:
        """Return the configured database URL, or the embedded SQLite file."""
        return self.database.url or f"sqlite:///{self.state_dir / 'radbridge.sqlite'}"

    @property
    def gateway_url(self) -> str:
        """Return the gateway's public base URL."""
        return self.gateway.public_url.rstrip("/")

    @property
    def storage_root(self) -> Path:
        """Return the folder of the local object store."""
        return self.storage.local_root or self.state_dir / "objects"


@lru_cache
def get_settings() -> CoreSettings:
    """Return the process settings; ``RADBRIDGE_SETTINGS_FILE`` may name a dotenv file."""
    import os

    env_file = os.environ.get("RADBRIDGE_SETTINGS_FILE")
    return CoreSettings(_env_file=env_file)
