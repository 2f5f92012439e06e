"""What inference code needs from a model server, whichever protocol or vendor serves it."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class InferenceError(Exception):
    """An inference request failed."""


class TritonUnavailable(InferenceError):
    """The server cannot be reached or did not answer in time; retrying later may succeed."""


class ModelContractError(InferenceError):
    """The request does not fit the served model (name, version, tensor names, dtypes, shapes).

    Retrying does not help: the deployed model and the calling code disagree.
    """


class ModelNotFound(ModelContractError):
    """The server does not serve this model at this version."""


class InferenceClient(Protocol):
    """A KServe-v2 style inference server (Triton in RadBridge)."""

    def is_ready(self, model: str, version: str) -> bool:
        """Return whether ``model`` at exactly ``version`` is loaded and ready.

        Raises ``TritonUnavailable`` when the server cannot be asked.
        """
        ...

    def infer(
        self,
        model: str,
        version: str,
        inputs: dict[str, np.ndarray],
        outputs: list[str],
    ) -> dict[str, np.ndarray]:
        """Run ``model`` at exactly ``version`` on ``inputs`` and return the named ``outputs``.

        Raises ``TritonUnavailable`` (retry later), ``ModelContractError`` (fix the caller or the
        deployment) or ``InferenceError`` (the model failed).
        """
        ...
