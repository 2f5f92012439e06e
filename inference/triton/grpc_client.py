"""``InferenceClient`` over Triton's gRPC endpoint (the production path)."""

from __future__ import annotations

from types import TracebackType

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from inference.triton._requests import (
    batch_size,
    collect_outputs,
    map_server_error,
    pinned_version,
    triton_datatype,
)
from inference.triton.port import ModelContractError


class GrpcInferenceClient:
    """Talk to Triton over gRPC; every call is bounded by ``timeout_s`` seconds.

    Parameters
    ----------
    url
        ``host:port`` of the gRPC endpoint, without a scheme.
    timeout_s
        End-to-end limit of each call; when it passes the call raises ``TritonUnavailable``.
    """

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._client = grpcclient.InferenceServerClient(url=url)

    def is_ready(self, model: str, version: str) -> bool:
        """Return whether ``model`` at exactly ``version`` is loaded and ready."""
        pinned = pinned_version(model, version)
        try:
            return bool(self._client.is_model_ready(model, pinned, client_timeout=self.timeout_s))
        except InferenceServerException as error:
            raise map_server_error(error, model, pinned) from error

    def infer(
        self,
        model: str,
        version: str,
        inputs: dict[str, np.ndarray],
        outputs: list[str],
    ) -> dict[str, np.ndarray]:
        """Run ``model`` at exactly ``version`` and return the requested outputs."""
        pinned = pinned_version(model, version)
        if not inputs or not outputs:
            raise ModelContractError(f"A request to {model!r} needs inputs and outputs.")
        request = []
        for name, array in inputs.items():
            tensor = grpcclient.InferInput(
                name, list(array.shape), triton_datatype(model, name, array)
            )
            tensor.set_data_from_numpy(np.ascontiguousarray(array))
            request.append(tensor)
        wanted = [grpcclient.InferRequestedOutput(name) for name in outputs]
        try:
            answer = self._client.infer(
                model, request, model_version=pinned, outputs=wanted, client_timeout=self.timeout_s
            )
        except InferenceServerException as error:
            raise map_server_error(error, model, pinned) from error
        fetched = {name: answer.as_numpy(name) for name in outputs}
        return collect_outputs(model, outputs, fetched, batch_size(inputs))

    def close(self) -> None:
        """Close the gRPC channel."""
        self._client.close()

    def __enter__(self) -> GrpcInferenceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
