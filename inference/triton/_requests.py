"""Request checks and error mapping shared by the gRPC and HTTP Triton clients."""

from __future__ import annotations

import numpy as np
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from inference.triton.port import (
    InferenceError,
    ModelContractError,
    ModelNotFound,
    TritonUnavailable,
)

# gRPC status names and their HTTP equivalents, as tritonclient reports them in ``status()``.
_NOT_FOUND = {"StatusCode.NOT_FOUND", "404"}
_BAD_REQUEST = {"StatusCode.INVALID_ARGUMENT", "StatusCode.FAILED_PRECONDITION", "400"}
_TRANSIENT = {
    "StatusCode.UNAVAILABLE",
    "StatusCode.DEADLINE_EXCEEDED",
    "StatusCode.RESOURCE_EXHAUSTED",
    "StatusCode.CANCELLED",
    "429",
    "502",
    "503",
    "504",
}


def pinned_version(model: str, version: str) -> str:
    """Return ``version`` if it names one exact version; Triton's "latest" ("") is refused.

    Findings must say which model version produced them, so every request pins one.
    """
    if not version.isdigit():
        raise ModelContractError(
            f"Model {model!r} needs an exact numeric version, got {version!r}: requests are "
            "pinned so every finding records the version that produced it."
        )
    return version


def triton_datatype(model: str, name: str, array: np.ndarray) -> str:
    """Return the Triton datatype of ``array`` or raise ``ModelContractError``."""
    datatype = np_to_triton_dtype(array.dtype)
    if datatype is None:
        raise ModelContractError(
            f"Input {name!r} for model {model!r} has dtype {array.dtype}, "
            "which Triton cannot carry."
        )
    return str(datatype)


def map_server_error(error: InferenceServerException, model: str, version: str) -> InferenceError:
    """Translate a tritonclient error into the port's exceptions."""
    status = str(error.status())
    where = f"model {model!r} version {version}"
    if status in _NOT_FOUND:
        return ModelNotFound(f"The server does not serve {where}: {error.message()}")
    if status in _BAD_REQUEST:
        return ModelContractError(f"The request does not fit {where}: {error.message()}")
    if status in _TRANSIENT:
        return TritonUnavailable(f"Triton did not serve {where} ({status}): {error.message()}")
    return InferenceError(f"Inference on {where} failed ({status}): {error.message()}")


def collect_outputs(
    model: str, outputs: list[str], fetch: dict[str, np.ndarray | None], batch: int | None
) -> dict[str, np.ndarray]:
    """Check that every requested output came back with the request's batch size."""
    result: dict[str, np.ndarray] = {}
    for name in outputs:
        array = fetch.get(name)
        if array is None:
            raise ModelContractError(f"Model {model!r} returned no output {name!r}.")
        if batch is not None and (array.ndim == 0 or array.shape[0] != batch):
            raise ModelContractError(
                f"Output {name!r} of model {model!r} has shape {array.shape}, expected "
                f"{batch} rows like the inputs."
            )
        result[name] = array
    return result


def batch_size(inputs: dict[str, np.ndarray]) -> int | None:
    """Return the common first dimension of ``inputs``, or None if they disagree."""
    sizes = {array.shape[0] if array.ndim else -1 for array in inputs.values()}
    return sizes.pop() if len(sizes) == 1 else None
