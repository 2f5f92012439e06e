"""Load a model version on Triton and prove it answers, before any study is routed to it.

Loading uses Triton's model repository API (``--model-control-mode=explicit``); a server in
another mode (``none``/``poll``) refuses that call, and the version is then awaited until it is
ready (``poll`` picks up the new files itself). The check sends one all-zeros request shaped as
the manifest says and compares every output's shape with the manifest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
import numpy as np

from inference.triton.port import InferenceClient, InferenceError, TritonUnavailable
from services.model_registry.manifest import ModelManifest

_DTYPES: dict[str, type[np.generic]] = {
    "FP32": np.float32,
    "FP16": np.float16,
    "UINT8": np.uint8,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "BOOL": np.bool_,
}


class CheckFailed(Exception):
    """The version did not load, or its answer does not match its manifest."""


@dataclass(frozen=True)
class CheckResult:
    """How the check went: how the model was loaded, and the inference's round trip."""

    loaded_by: str  # "repository-api" | "already-served"
    elapsed_ms: int
    output_shapes: dict[str, tuple[int, ...]]


def load(http_url: str, manifest: ModelManifest, *, timeout_s: float = 60.0) -> str:
    """Ask Triton to (re)load the model; return "repository-api" or "not-explicit-mode"."""
    base = http_url if http_url.startswith("http") else f"http://{http_url}"
    url = f"{base}/v2/repository/models/{manifest.name}/load"
    try:
        answer = httpx.post(url, json={}, timeout=timeout_s)
    except httpx.HTTPError as error:
        raise TritonUnavailable(f"Triton at {base} is unreachable: {error}") from error
    if answer.status_code == httpx.codes.OK:
        return "repository-api"
    if "not allowed" in answer.text:  # model control mode none/poll
        return "not-explicit-mode"
    raise CheckFailed(f"Triton could not load {manifest.name}: {answer.text[:500]}")


def wait_ready(
    client: InferenceClient, manifest: ModelManifest, *, timeout_s: float = 60.0
) -> None:
    """Wait until the version is ready, or raise CheckFailed."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if client.is_ready(manifest.name, manifest.version):
                return
        except TritonUnavailable:
            raise
        except InferenceError:
            pass  # not known yet (a polling server has not seen the files): keep waiting
        if time.monotonic() > deadline:
            raise CheckFailed(
                f"{manifest.name} v{manifest.version} did not become ready in {timeout_s:.0f} s; "
                "see Triton's log (is the repository the one this Triton serves?)"
            )
        time.sleep(0.5)


def _shape_fits(actual: tuple[int, ...], expected: list[int]) -> bool:
    return len(actual) == len(expected) and all(
        e in (-1, a) for a, e in zip(actual, expected, strict=True)
    )


def check_inference(
    client: InferenceClient, manifest: ModelManifest
) -> tuple[int, dict[str, tuple[int, ...]]]:
    """Send one all-zeros request; return elapsed ms and output shapes, or raise CheckFailed."""
    spec = manifest.input
    batch = [1] if manifest.triton.max_batch_size > 0 else []
    shape = batch + [d if d > 0 else 1 for d in spec.shape]
    tensor: np.ndarray = np.zeros(shape, dtype=_DTYPES[spec.datatype])
    names = [o.tensor for o in manifest.outputs]
    started = time.perf_counter()
    try:
        answer = client.infer(manifest.name, manifest.version, {spec.tensor: tensor}, names)
    except TritonUnavailable:
        raise
    except InferenceError as error:
        raise CheckFailed(f"the check inference failed: {error}") from error
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    shapes = {name: tuple(int(d) for d in array.shape) for name, array in answer.items()}
    for out in manifest.outputs:
        expected = batch + list(out.shape)
        got = shapes.get(out.tensor)
        if got is None or not _shape_fits(got, expected):
            raise CheckFailed(
                f"output {out.tensor} has shape {got}, the manifest says {expected} "
                "(batch dimension first)"
            )
    return elapsed_ms, shapes


def load_and_check(
    client: InferenceClient, http_url: str, manifest: ModelManifest, *, timeout_s: float = 60.0
) -> CheckResult:
    """Load the version (or wait for it) and run the check inference."""
    how = load(http_url, manifest, timeout_s=timeout_s)
    wait_ready(client, manifest, timeout_s=timeout_s)
    elapsed_ms, shapes = check_inference(client, manifest)
    loaded_by = "repository-api" if how == "repository-api" else "already-served"
    return CheckResult(loaded_by=loaded_by, elapsed_ms=elapsed_ms, output_shapes=shapes)
