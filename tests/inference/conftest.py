"""Session fixtures for inference tests: a real Triton serving the shipped models."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from inference.models.repository import build_model_repository
from inference.triton.grpc_client import GrpcInferenceClient
from inference.triton.http_client import HttpInferenceClient
from inference.triton.server import (
    LocalTriton,
    TritonPorts,
    TritonStartError,
    default_env_dir,
    locate_install,
)
from services.kit.settings import get_settings

SETUP_HINT = "run `bash infra/dev.sh setup` to create .venv-triton (nvidia-pytriton, numpy<2)"


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct loopback ports that were free a moment ago."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@pytest.fixture(scope="session")
def triton_env_dir() -> Path:
    """The triton virtualenv; a missing one fails the tests instead of skipping them."""
    env_dir = get_settings().triton.env_dir or default_env_dir()
    problem = ""
    try:
        locate_install(env_dir)
    except TritonStartError as error:
        problem = str(error)
    if problem:
        pytest.fail(f"Triton is not installed: {problem}\n{SETUP_HINT}", pytrace=False)
    return env_dir


@pytest.fixture(scope="session")
def triton_server(
    tmp_path_factory: pytest.TempPathFactory, triton_env_dir: Path
) -> Iterator[LocalTriton]:
    root = tmp_path_factory.mktemp("triton")
    repository = build_model_repository(root / "model_repository")
    server = LocalTriton(
        repository, root / "work", ports=TritonPorts(*free_ports(3)), env_dir=triton_env_dir
    )
    server.start()
    try:
        server.wait_ready(timeout=90)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def triton_client(triton_server: LocalTriton) -> Iterator[GrpcInferenceClient]:
    with GrpcInferenceClient(triton_server.grpc_url, timeout_s=30) as client:
        yield client


@pytest.fixture(scope="session")
def triton_http_client(triton_server: LocalTriton) -> Iterator[HttpInferenceClient]:
    with HttpInferenceClient(triton_server.http_url, timeout_s=30) as client:
        yield client
