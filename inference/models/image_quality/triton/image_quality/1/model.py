"""Radiograph image-quality measures, served by Triton's Python backend.

Input ``IMAGE`` is FP32 ``[batch, 256, 256]``: one radiograph per row, already mapped through its
Modality LUT and display window to 0..1 with 0 = black and 1 = white (MONOCHROME2 sense).

Outputs, one row per image:

``MEASURES`` FP32 ``[batch, 7]``, in this order:
    0 exposure       mean grey level
    1 contrast       robust contrast, 95th minus 5th percentile
    2 rms_contrast   standard deviation of the grey levels
    3 clipped_low    fraction of pixels at or below ``CLIP_LOW`` (crushed black)
    4 clipped_high   fraction of pixels at or above ``CLIP_HIGH`` (burnt-out white)
    5 noise          noise sigma, Immerkaer's Laplacian estimate made robust with a median
    6 dynamic_range  fraction of ``HIST_BINS`` grey-level bins holding >= 0.1 % of pixels
``PENALTIES`` FP32 ``[batch, 5]``: under_exposure, over_exposure, clipping, low_contrast, noise,
    each 0 (fine) .. 1 (certainly a problem), a linear ramp between the thresholds below.
``RETAKE_SCORE`` FP32 ``[batch, 1]``: ``1 - prod(1 - penalty)``, so one certain problem is enough
    to ask for a retake and several moderate ones add up.

Thresholds (grey levels on the 0..1 scale) are starting points chosen for windowed CR/DX images,
to be recalibrated against radiographers' retake decisions before any clinical use:

* under_exposure: mean 0.25 -> 0, mean 0.08 -> 1
* over_exposure:  mean 0.75 -> 0, mean 0.92 -> 1
* clipping: clipped_high 5 % -> 0, 25 % -> 1; clipped_low 35 % -> 0, 75 % -> 1 (raw air and
  collimator shadows are legitimately black, so black is allowed much more than white); the
  larger of the two counts
* low_contrast: contrast 0.30 -> 0, 0.08 -> 1
* noise: sigma 0.02 -> 0, sigma 0.08 -> 1

Only numpy and ``triton_python_backend_utils`` exist inside the Triton Python backend.
"""

import numpy as np
import triton_python_backend_utils as pb_utils

CLIP_LOW = 0.01
CLIP_HIGH = 0.99
HIST_BINS = 64
# Immerkaer's 3x3 operator: the difference of two Laplacians, blind to planes and ramps.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
# For Gaussian noise sigma the filtered value is N(0, 6 sigma) and its median |.| is 0.6745 of that.
_NOISE_SCALE = 1.0 / (6.0 * 0.6745)


def _ramp(value, start, end):
    """Return 0 at ``start``, 1 at ``end``, linear in between (either direction)."""
    return np.clip((value - start) / (end - start), 0.0, 1.0)


def _noise(images):
    """Return a noise sigma per image, ignoring clipped pixels where noise cannot show."""
    _, rows, cols = images.shape
    filtered = np.zeros((images.shape[0], rows - 2, cols - 2), dtype=np.float32)
    for dy in range(3):
        for dx in range(3):
            filtered += _NOISE_KERNEL[dy, dx] * images[:, dy : dy + rows - 2, dx : dx + cols - 2]
    centre = images[:, 1:-1, 1:-1]
    usable = (centre > CLIP_LOW) & (centre < CLIP_HIGH)
    sigma = np.zeros(images.shape[0], dtype=np.float32)
    for i in range(images.shape[0]):
        values = np.abs(filtered[i][usable[i]])
        if values.size >= 64:
            sigma[i] = np.median(values) * _NOISE_SCALE
    return sigma


def assess(images):
    """Return (measures [n, 7], penalties [n, 5], retake score [n, 1]) for images in 0..1."""
    flat = images.reshape(images.shape[0], -1)
    p05, p95 = np.percentile(flat, [5.0, 95.0], axis=1)
    occupancy = np.stack([np.histogram(row, bins=HIST_BINS, range=(0.0, 1.0))[0] for row in flat])
    measures = np.stack(
        [
            flat.mean(axis=1),
            p95 - p05,
            flat.std(axis=1),
            (flat <= CLIP_LOW).mean(axis=1),
            (flat >= CLIP_HIGH).mean(axis=1),
            _noise(images),
            (occupancy >= 0.001 * flat.shape[1]).mean(axis=1),
        ],
        axis=1,
    ).astype(np.float32)
    exposure, contrast, _, low, high, noise, _ = measures.T
    penalties = np.stack(
        [
            _ramp(exposure, 0.25, 0.08),
            _ramp(exposure, 0.75, 0.92),
            np.maximum(_ramp(high, 0.05, 0.25), _ramp(low, 0.35, 0.75)),
            _ramp(contrast, 0.30, 0.08),
            _ramp(noise, 0.02, 0.08),
        ],
        axis=1,
    ).astype(np.float32)
    retake = 1.0 - np.prod(1.0 - penalties, axis=1, keepdims=True)
    return measures, penalties, retake.astype(np.float32)


class TritonPythonModel:
    """Triton entry point: one response per request, each request carrying its own batch."""

    def execute(self, requests):
        """Assess every image of every request."""
        responses = []
        for request in requests:
            images = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
            if not np.isfinite(images).all() or images.min() < 0.0 or images.max() > 1.0:
                error = pb_utils.TritonError(
                    "IMAGE must hold finite grey levels in 0..1", pb_utils.TritonError.INVALID_ARG
                )
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=error))
                continue
            measures, penalties, retake = assess(images.astype(np.float32, copy=False))
            outputs = [
                pb_utils.Tensor("MEASURES", measures),
                pb_utils.Tensor("PENALTIES", penalties),
                pb_utils.Tensor("RETAKE_SCORE", retake),
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=outputs))
        return responses
