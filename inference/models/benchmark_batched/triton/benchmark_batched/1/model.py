"""Load-test model with a fixed cost per batch, served by Triton's Python backend.

Each ``execute`` call (one batch: every request Triton hands over at once) costs ``COST_S``
seconds whatever its size, like a GPU kernel launch whose time barely depends on the batch.
Served twice from the same file: ``benchmark_batched`` (dynamic batching, so concurrent
requests share one call) and ``benchmark_unbatched`` (no batcher: one call per request), which
is how ``inference.bench`` measures what dynamic batching buys.

Input ``INPUT`` FP32 ``[batch, N]``; output ``OUTPUT`` FP32 ``[batch, 1]``, the row sums (a
cheap check that every request got its own answer). Not a clinical model.
"""

import time

import numpy as np
import triton_python_backend_utils as pb_utils

COST_S = 0.02


class TritonPythonModel:
    """Triton entry point: pay the fixed cost once, answer every request of the batch."""

    def execute(self, requests):
        """Sleep ``COST_S`` once for the whole batch, then return each request's row sums."""
        time.sleep(COST_S)
        responses = []
        for request in requests:
            values = pb_utils.get_input_tensor_by_name(request, "INPUT").as_numpy()
            sums = values.astype(np.float32).sum(axis=1, keepdims=True)
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("OUTPUT", sums)]))
        return responses
