"""Summary statistics of the tensor a job sent to its model, for the input-drift monitor."""

from __future__ import annotations

import numpy as np


def tensor_stats(tensor: np.ndarray) -> dict[str, float]:
    """Return mean, standard deviation and 1/50/99th percentiles of a model input.

    Computed on the preprocessed tensor (what the model really saw), so a change in
    modality, vendor, protocol or preprocessing shows up as a shift in these numbers.
    """
    values = np.asarray(tensor, dtype=np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"mean": 0.0, "std": 0.0, "p01": 0.0, "p50": 0.0, "p99": 0.0, "n": 0.0}
    p01, p50, p99 = np.percentile(values, [1, 50, 99])
    return {
        "mean": round(float(values.mean()), 6),
        "std": round(float(values.std()), 6),
        "p01": round(float(p01), 6),
        "p50": round(float(p50), 6),
        "p99": round(float(p99), 6),
        "n": float(values.size),
    }
