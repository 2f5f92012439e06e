"""``InferenceClient`` over Triton's HTTP/REST endpoint (fallback where gRPC is blocked)."""

from __future__ import annotations

from types import TracebackType

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from inference.triton._requests import (
    batch_size,
    collect_outputs,
    map_server_error,
    pinned_version,
    triton_datatype,
)
from inference.triton.port import ModelContractError, TritonUnavailable

# geventhttpclient reports refused/reset connections and timeouts as OSError subclasses.
_TRANSPORT_ERRORS = (OSError,)


class HttpInferenceClient:
    """Talk to Triton over HTTP; connecting and each response are bounded by ``timeout_s``.

    Parameters
    ----------
    url
        ``host:port`` of the HTTP endpoint, without a scheme.
    timeout_s
        Connection and network timeout in seconds; when it passes the call raises
        ``TritonUnavailable``.
    """

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._client = httpclient.InferenceServerClient(
            url=url, connection_timeout=timeout_s, network_timeout=timeout_s
        )

    def is_ready(self, model: str, version: str) -> bool:
        """Return whether ``model`` at exactly ``version`` is loaded and ready."""
        pinned = pinned_version(model, version)
        try:
            return bool(self._client.is_model_ready(model, pinned))
        except InferenceServerException as error:
            raise map_server_error(error, model, pinned) from error
        except _TRANSPORT_ERRORS as error:
            raise TritonUnavailable(f"Triton at {self.url} is unreachable: {error}") from error

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
            tensor = httpclient.InferInput(
                name, list(array.shape), triton_datatype(model, name, array)
            )
            tensor.set_data_from_numpy(np.ascontiguousarray(array), binary_data=True)
            request.append(tensor)
        wanted = [httpclient.InferRequestedOutput(name, binary_data=True) for name in outputs]
        try:
            answer = self._client.infer(model, request, model_version=pinned, outputs=wanted)
        except InferenceServerException as error:
            raise map_server_error(error, model, pinned) from error
        except _TRANSPORT_ERRORS as error:
            raise TritonUnavailable(f"Triton at {self.url} is unreachable: {error}") from error
        fetched = {name: answer.as_numpy(name) for name in outputs}
        return collect_outputs(model, outputs, fetched, batch_size(inputs))

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> HttpInferenceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
