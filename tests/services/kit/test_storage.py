from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError

from services.kit.settings import StorageSettings
from services.kit.storage import (
    InvalidObjectKey,
    LocalDiskStore,
    ObjectIntegrityError,
    ObjectNotFound,
    S3Store,
    StoredObject,
    build_object_store,
    validate_key,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PDF = "application/pdf"
UNSAFE_KEYS = [
    "../x",
    "/etc/passwd",
    "a/../../b",
    "a/\x00b",
    "a\\b",
    "..\\..\\windows",
    "",
    "a//b",
    "./a",
    "a/.",
    "a/",
    "a b",
    "报告.pdf",
    "x" * 1025,
]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.unit
class TestValidateKey:
    @pytest.mark.parametrize(
        "key", ["reports/t-1/r_1.v2.pdf", "a", "A.b-c_d/E9/0", ".hidden", "a..b"]
    )
    def test_accepts_portable_keys(self, key: str) -> None:
        assert validate_key(key) == key

    @pytest.mark.parametrize("key", UNSAFE_KEYS)
    def test_rejects_unsafe_keys(self, key: str) -> None:
        with pytest.raises(InvalidObjectKey):
            validate_key(key)

    def test_error_is_a_value_error_naming_the_key(self) -> None:
        with pytest.raises(ValueError, match=r"'a/\.\./\.\./b'.*'\.\.'"):
            validate_key("a/../../b")

    def test_error_names_the_forbidden_characters(self) -> None:
        with pytest.raises(InvalidObjectKey, match=r"contains \['\\\\'\]"):
            validate_key("a\\b")


@pytest.mark.unit
class TestLocalDiskStorePut:
    def test_round_trip_returns_size_and_sha256(self, tmp_path: Path) -> None:
        store = LocalDiskStore(tmp_path)
        data = "影像诊断报告".encode() * 100

        stored = store.put("reports/t1/r1.pdf", data, PDF)

        assert stored == StoredObject("reports/t1/r1.pdf", len(data), _sha256(data))
        assert store.get("reports/t1/r1.pdf") == data
        assert (tmp_path / "reports" / "t1" / "r1.pdf").read_bytes() == data

    def test_overwrite_replaces_content_and_leaves_no_temp_file(self, tmp_path: Path) -> None:
        store = LocalDiskStore(tmp_path)
        store.put("a/b.json", b"old", "application/json")

        store.put("a/b.json", b"new", "application/json")

        assert store.get("a/b.json") == b"new"
        assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.json"]

    def test_empty_object_round_trips(self, tmp_path: Path) -> None:
        store = LocalDiskStore(tmp_path)

        assert store.put("empty", b"", PDF).sha256 == _sha256(b"")
        assert store.get("empty") == b""

    @pytest.mark.parametrize("key", UNSAFE_KEYS)
    def test_unsafe_key_is_rejected_and_nothing_is_written(self, tmp_path: Path, key: str) -> None:
        root = tmp_path / "store"
        store = LocalDiskStore(root)

        with pytest.raises(InvalidObjectKey):
            store.put(key, b"x", PDF)

        assert sorted(p.name for p in tmp_path.rglob("*")) == []

    def test_symlink_leading_outside_root_is_rejected(self, tmp_path: Path) -> None:
        root, outside = tmp_path / "store", tmp_path / "outside"
        root.mkdir()
        outside.mkdir()
        (root / "link").symlink_to(outside, target_is_directory=True)
        store = LocalDiskStore(root)

        with pytest.raises(InvalidObjectKey, match="outside the store root"):
            store.put("link/x.pdf", b"x", PDF)

        assert list(outside.iterdir()) == []


@pytest.mark.unit
class TestLocalDiskStoreGet:
    def test_missing_key_raises_object_not_found(self, tmp_path: Path) -> None:
        with pytest.raises(ObjectNotFound) as caught:
            LocalDiskStore(tmp_path).get("nope/missing.pdf")

        assert isinstance(caught.value, KeyError)

    def test_directory_is_not_an_object(self, tmp_path: Path) -> None:
        store = LocalDiskStore(tmp_path)
        store.put("a/b", b"x", PDF)

        with pytest.raises(ObjectNotFound):
            store.get("a")

    def test_traversal_key_is_rejected(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidObjectKey):
            LocalDiskStore(tmp_path / "store").get("../secret")


@pytest.mark.unit
class TestLocalDiskStoreExistsAndDelete:
    def test_exists_follows_put_and_delete(self, tmp_path: Path) -> None:
        store = LocalDiskStore(tmp_path)
        assert not store.exists("k")
        store.put("k", b"x", PDF)
        assert store.exists("k")

        store.delete("k")

        assert not store.exists("k")

    def test_deleting_a_missing_key_is_not_an_error(self, tmp_path: Path) -> None:
        LocalDiskStore(tmp_path).delete("never/written")


@pytest.mark.unit
class TestBuildObjectStore:
    def test_local_backend_uses_default_root(self, tmp_path: Path) -> None:
        store = build_object_store(StorageSettings(), tmp_path)

        assert isinstance(store, LocalDiskStore)
        assert store.root == tmp_path.resolve()

    def test_local_root_setting_wins_over_default(self, tmp_path: Path) -> None:
        settings = StorageSettings(local_root=tmp_path / "configured")

        store = build_object_store(settings, tmp_path / "default")

        assert isinstance(store, LocalDiskStore)
        assert store.root == (tmp_path / "configured").resolve()

    def test_s3_backend_builds_s3_store_without_network(self, tmp_path: Path) -> None:
        settings = StorageSettings(backend="s3", s3_bucket="reports-bucket")

        store = build_object_store(settings, tmp_path)

        assert isinstance(store, S3Store)
        assert store.bucket == "reports-bucket"

    def test_unknown_backend_is_rejected(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="unknown storage backend 'ftp'"):
            build_object_store(StorageSettings(backend="ftp"), tmp_path)


@pytest.fixture
def s3_store(s3_settings: StorageSettings) -> S3Store:
    store = S3Store.from_settings(s3_settings)
    store.ensure_bucket()
    return store


@pytest.mark.integration
class TestS3StoreRoundTrip:
    def test_put_get_exists_delete(self, s3_store: S3Store) -> None:
        data = b"%PDF-1.4 " + "王小明".encode() * 1000

        stored = s3_store.put("reports/t1/r1.pdf", data, PDF)

        assert stored == StoredObject("reports/t1/r1.pdf", len(data), _sha256(data))
        assert s3_store.exists("reports/t1/r1.pdf")
        assert s3_store.get("reports/t1/r1.pdf") == data
        s3_store.delete("reports/t1/r1.pdf")
        assert not s3_store.exists("reports/t1/r1.pdf")

    def test_content_type_digest_and_server_checksum_are_recorded(
        self, s3_store: S3Store, s3_raw_client: S3Client
    ) -> None:
        data = b"report bytes"
        digest = hashlib.sha256(data).digest()

        s3_store.put("r.pdf", data, PDF)

        head = s3_raw_client.head_object(
            Bucket=s3_store.bucket, Key="r.pdf", ChecksumMode="ENABLED"
        )
        assert head["ContentType"] == PDF
        assert head["Metadata"] == {"sha256": digest.hex()}
        assert head["ChecksumSHA256"] == base64.b64encode(digest).decode()

    def test_missing_key_raises_object_not_found(self, s3_store: S3Store) -> None:
        with pytest.raises(ObjectNotFound):
            s3_store.get("nope.pdf")
        assert not s3_store.exists("nope.pdf")

    def test_deleting_a_missing_key_is_not_an_error(self, s3_store: S3Store) -> None:
        s3_store.delete("never/written")

    @pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../b", "a\x00b", "a\\b"])
    def test_unsafe_key_is_rejected_before_any_request(self, s3_store: S3Store, key: str) -> None:
        with pytest.raises(InvalidObjectKey):
            s3_store.put(key, b"x", PDF)


@pytest.mark.integration
class TestS3StoreIntegrity:
    def test_bytes_replaced_behind_the_store_raise_integrity_error(
        self, s3_store: S3Store, s3_raw_client: S3Client
    ) -> None:
        original = s3_store.put("r.pdf", b"signed report", PDF)
        # Same recorded digest, different bytes: what bit rot or a careless copy looks like.
        s3_raw_client.put_object(
            Bucket=s3_store.bucket,
            Key="r.pdf",
            Body=b"tampered report",
            Metadata={"sha256": original.sha256},
        )

        with pytest.raises(ObjectIntegrityError, match=r"r\.pdf is corrupted: SHA-256"):
            s3_store.get("r.pdf")

    def test_object_without_recorded_digest_is_refused(
        self, s3_store: S3Store, s3_raw_client: S3Client
    ) -> None:
        s3_raw_client.put_object(Bucket=s3_store.bucket, Key="foreign.pdf", Body=b"x")

        with pytest.raises(ObjectIntegrityError, match="no recorded SHA-256"):
            s3_store.get("foreign.pdf")

    def test_server_checksum_not_matching_body_raises_integrity_error(
        self, s3_store: S3Store, s3_raw_client: S3Client
    ) -> None:
        data = b"signed report"
        wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
        # moto stores a client-supplied checksum without checking it, which lets us plant one.
        s3_raw_client.put_object(
            Bucket=s3_store.bucket,
            Key="r.pdf",
            Body=data,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=wrong,
            Metadata={"sha256": _sha256(data)},
        )

        with pytest.raises(ObjectIntegrityError, match="server checksum does not match"):
            s3_store.get("r.pdf")

    def test_metadata_only_mode_still_verifies_on_get(
        self, s3_store: S3Store, s3_raw_client: S3Client
    ) -> None:
        store = S3Store(s3_store.client, s3_store.bucket, flexible_checksums=False)
        store.put("r.pdf", b"abc", PDF)
        head = s3_raw_client.head_object(Bucket=store.bucket, Key="r.pdf", ChecksumMode="ENABLED")
        assert "ChecksumSHA256" not in head
        assert store.get("r.pdf") == b"abc"


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


@pytest.mark.integration
class TestS3StoreChecksumFallback:
    def test_endpoint_refusing_checksums_gets_metadata_only(
        self, s3_store: S3Store, s3_raw_client: S3Client
    ) -> None:
        # Simulate an older S3-compatible server: answer 501 to any upload carrying a checksum.
        def refuse(request: Any, **_: Any) -> AWSResponse | None:
            if "x-amz-checksum-sha256" not in request.headers:
                return None
            body = b"<Error><Code>NotImplemented</Code><Message>no checksums</Message></Error>"
            return AWSResponse(request.url, 501, HTTPHeaders(), _RawBody(body))

        # botocore uses the first non-None reply of a before-send hook instead of sending.
        s3_store.client.meta.events.register("before-send.s3.PutObject", refuse)  # type: ignore[arg-type]

        stored = s3_store.put("r.pdf", b"abc", PDF)

        assert s3_store.flexible_checksums is False
        assert stored.sha256 == _sha256(b"abc")
        assert s3_store.get("r.pdf") == b"abc"
        head = s3_raw_client.head_object(
            Bucket=s3_store.bucket, Key="r.pdf", ChecksumMode="ENABLED"
        )
        assert "ChecksumSHA256" not in head


@pytest.mark.integration
class TestS3StoreEnsureBucket:
    def test_creates_missing_bucket_once(
        self, s3_settings: StorageSettings, s3_raw_client: S3Client
    ) -> None:
        store = S3Store.from_settings(s3_settings)

        store.ensure_bucket()
        store.ensure_bucket()

        s3_raw_client.head_bucket(Bucket=s3_settings.s3_bucket)

    def test_creates_bucket_outside_us_east_1(
        self, s3_settings: StorageSettings, s3_raw_client: S3Client
    ) -> None:
        settings = s3_settings.model_copy(update={"s3_region": "ap-east-1"})
        store = S3Store.from_settings(settings)

        store.ensure_bucket()

        location = s3_raw_client.get_bucket_location(Bucket=settings.s3_bucket)
        assert location["LocationConstraint"] == "ap-east-1"

    def test_put_without_bucket_fails_loudly(self, s3_settings: StorageSettings) -> None:
        store = S3Store.from_settings(s3_settings)

        with pytest.raises(ClientError, match="NoSuchBucket"):
            store.put("r.pdf", b"x", PDF)
