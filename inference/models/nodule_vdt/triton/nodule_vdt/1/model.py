"""Lung-nodule volume doubling time (VDT), served by Triton's Python backend.

Input ``MEASUREMENTS`` FP32 ``[batch, T, 5]``: one nodule per row, its T >= 2 measurements in
time order, each ``(days, d1_mm, d2_mm, d3_mm, volume_mm3)``:

* ``days``: days since the first measurement (strictly increasing, the first is usually 0);
* ``d1..d3``: diameters in mm (long axis, short axis, cranio-caudal), 0 when not measured;
* ``volume_mm3``: a segmented volume, 0 when not measured (then the diameters are used).

Volume of a time point: the measured volume if given, else an ellipsoid from the diameters,
``pi/6 * d1 * d2 * d3``; with two diameters the third is taken as their mean, with one the
nodule is taken as a sphere ``pi/6 * d1**3``.

Outputs, one row per nodule:

``VOLUMES_MM3`` FP32 ``[batch, T]``: the volume used at each time point.
``VDT_DAYS`` FP32 ``[batch, 2]``: Schwartz's VDT = t * ln 2 / ln(V2 / V1), from the first to the
    last measurement and from the one before last to the last. Negative when the nodule
    shrank, +inf when its volume did not change.
``GROWTH`` FP32 ``[batch, 2]``:
    0 fast_growth  how far the baseline VDT lies in the malignant range of the NELSON/BTS
                   criteria: 0 at 600 days or more, 1 at 400 days or less, linear between;
                   multiplied by ``growing`` so that measurement noise alone never scores;
    1 growing      volume increase from the first to the last measurement: 0 below 15 %,
                   1 from 25 % (the usual limit of volumetric reproducibility), linear between.

A row that cannot give a VDT (fewer than 2 time points, days not increasing, a time point
with nothing measured, negative or non-finite values) gets NaN doubling times and zero growth.

Thresholds follow the Fleischner/BTS/NELSON use of VDT; they are a starting point to be
validated locally before clinical use. Only numpy and ``triton_python_backend_utils`` exist here.
"""

import numpy as np
import triton_python_backend_utils as pb_utils

LN2 = np.log(2.0)


def _ramp(value, start, end):
    """Return 0 at ``start``, 1 at ``end``, linear in between (either direction)."""
    return np.clip((value - start) / (end - start), 0.0, 1.0)


def volumes(measurements):
    """Return the volume of every time point ``[n, T]`` from ``[n, T, 5]`` measurements."""
    diameters = measurements[..., 1:4]
    measured = measurements[..., 4]
    given = (diameters > 0).sum(axis=-1)
    d1, d2, d3 = diameters[..., 0], diameters[..., 1], diameters[..., 2]
    sorted_d = -np.sort(-diameters, axis=-1)  # largest first, zeros last
    a, b = sorted_d[..., 0], sorted_d[..., 1]
    ellipsoid = np.pi / 6.0 * d1 * d2 * d3
    two_axes = np.pi / 6.0 * a * b * (a + b) / 2.0
    sphere = np.pi / 6.0 * a**3
    from_diameters = np.where(given == 3, ellipsoid, np.where(given == 2, two_axes, sphere))
    from_diameters = np.where(given == 0, 0.0, from_diameters)
    return np.where(measured > 0, measured, from_diameters).astype(np.float64)


def doubling_time(days, v1, v2):
    """Schwartz's VDT in days; +inf without change, negative for shrinkage."""
    ratio = np.log(v2 / v1)
    with np.errstate(divide="ignore"):
        return np.where(ratio == 0.0, np.inf, days * LN2 / np.where(ratio == 0.0, 1.0, ratio))


def problem(measurements):
    """Return why the tensor is not ``[batch, T, 5]``, or None."""
    if measurements.ndim != 3 or measurements.shape[2] != 5:
        return f"MEASUREMENTS must be [batch, T, 5], got {list(measurements.shape)}"
    return None


def valid_rows(measurements):
    """Return which rows can give a VDT: T >= 2, finite, non-negative, days increasing, measured.

    Other rows are answered with NaN doubling times and zero growth rather than failing the
    whole request: a row of zeros (the registry's check inference) is a fair question with no
    answer, and callers validate their measurements before asking (``MeasurementError``).
    """
    rows = measurements.shape[0]
    if measurements.shape[1] < 2:
        return np.zeros(rows, dtype=bool)
    finite = np.isfinite(measurements).all(axis=(1, 2)) & (measurements >= 0).all(axis=(1, 2))
    safe = np.where(np.isfinite(measurements), measurements, 0.0)
    increasing = (np.diff(safe[..., 0], axis=1) > 0).all(axis=1)
    measured = (volumes(np.abs(safe)) > 0).all(axis=1)
    return finite & increasing & measured


def assess(measurements):
    """Return (volumes [n, T], vdt [n, 2], growth [n, 2]); invalid rows get NaN and 0."""
    valid = valid_rows(measurements)
    safe = np.where(valid[:, None, None], measurements, 1.0)  # placeholder keeps the maths quiet
    safe[..., 0] = np.where(valid[:, None], safe[..., 0], np.arange(safe.shape[1]))
    vol = volumes(safe)
    days = safe[..., 0]
    if safe.shape[1] >= 2:
        baseline = doubling_time(days[:, -1] - days[:, 0], vol[:, 0], vol[:, -1])
        recent = doubling_time(days[:, -1] - days[:, -2], vol[:, -2], vol[:, -1])
        growing = _ramp(vol[:, -1] / vol[:, 0], 1.15, 1.25)
    else:
        baseline = recent = growing = np.zeros(safe.shape[0])
    finite_vdt = np.where(np.isinf(baseline), 1e9, baseline)
    fast = np.where(baseline > 0, _ramp(finite_vdt, 600, 400), 0)
    vdt = np.where(valid[:, None], np.stack([baseline, recent], axis=1), np.nan)
    growth = np.where(valid[:, None], np.stack([fast * growing, growing], axis=1), 0.0)
    used = np.where(valid[:, None], vol, volumes(np.where(np.isfinite(measurements), measurements, 0)))
    return used.astype(np.float32), vdt.astype(np.float32), growth.astype(np.float32)


class TritonPythonModel:
    """Triton entry point: one response per request, each request carrying its own batch."""

    def execute(self, requests):
        """Compute the doubling times of every nodule of every request."""
        responses = []
        for request in requests:
            tensor = pb_utils.get_input_tensor_by_name(request, "MEASUREMENTS").as_numpy()
            measurements = tensor.astype(np.float64)
            why = problem(measurements)
            if why is not None:
                error = pb_utils.TritonError(why, pb_utils.TritonError.INVALID_ARG)
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=error))
                continue
            vol, vdt, growth = assess(measurements)
            outputs = [
                pb_utils.Tensor("VOLUMES_MM3", vol),
                pb_utils.Tensor("VDT_DAYS", vdt),
                pb_utils.Tensor("GROWTH", growth),
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=outputs))
        return responses
