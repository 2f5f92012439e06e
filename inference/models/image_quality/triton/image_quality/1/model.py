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
``RETAKE_SCORE`` FP32 ``[batch, 1]``: ``1 - prod(1 - penalty)`` over ``PENALTIES`` and
    ``GEOMETRY_PENALTIES``, so one certain problem is enough to ask for a retake and several
    moderate ones add up.

Thresholds (grey levels on the 0..1 scale) are starting points chosen for windowed CR/DX images,
to be recalibrated against radiographers' retake decisions before any clinical use:

* under_exposure: mean 0.25 -> 0, mean 0.08 -> 1
* over_exposure:  mean 0.75 -> 0, mean 0.92 -> 1
* clipping: clipped_high 5 % -> 0, 25 % -> 1; clipped_low 35 % -> 0, 75 % -> 1 (raw air and
  collimator shadows are legitimately black, so black is allowed much more than white); the
  larger of the two counts
* low_contrast: contrast 0.30 -> 0, 0.08 -> 1
* noise: sigma 0.02 -> 0, sigma 0.08 -> 1

Collimation and rotation (the exposed field), one row per image:

``FIELD_BOX`` FP32 ``[batch, 4]``: x0, y0, x1, y1 of the exposed field's bounding box, normalised
    to 0..1 of the image's columns (x) and rows (y), so it holds for the image before resizing.
``FIELD_CORNERS`` FP32 ``[batch, 8]``: the field quadrilateral, x, y of its top-left, top-right,
    bottom-right and bottom-left corners (normalised; may lie just outside 0..1 when a tilted
    field runs off the detector).
``FIELD_SIDES`` FP32 ``[batch, 4]``: 1 where a collimator edge was found (left, top, right,
    bottom), 0 where the field runs to the image border.
``FIELD_MEASURES`` FP32 ``[batch, 2]``: field_fraction (share of the image inside the field) and
    edge_anatomy (share of the strip just inside the collimator edges that is not air).
``TILT_DEG`` FP32 ``[batch, 1]``: mean angle of the collimator edges from the image axes,
    clockwise on screen positive, measured on the square model grid (equal to the angle in the
    image for square images; the pipeline rescales it by the image's aspect). 0 without edges.
``GEOMETRY_PENALTIES`` FP32 ``[batch, 2]``: collimation, tilt, on the same 0..1 scale; they
    count in ``RETAKE_SCORE`` like the other penalties.

How the field is found: collimator shadows are flat (local standard deviation under
``max(SMOOTH_STD, 3 x noise)``) and sit at the grey level of the image border they touch; they
are flood-filled from the border. Along each side, the depth of that shadow row by row is refined
to the strongest step nearby and fitted with a straight line; a side counts as collimated only if
the line holds (RMS under ``EDGE_RMS_PX``) along at least ``MIN_EDGE_SHARE`` of the side. Raw air
around a hand or a head is flat too but its border is curved, so it is not mistaken for a
collimator. Thresholds, like those above, are starting points to be recalibrated:

* collimation: no collimator edge at all -> ``NO_COLLIMATION_PENALTY`` (0.1: allowed, only
  poor practice); otherwise edge_anatomy 0.80 -> 0, 0.97 -> 1 (anatomy cut at every edge means
  the field was set too tight). A pixel brighter than ``AIR_LEVEL`` counts as anatomy.
* tilt: |tilt| 3 degrees -> 0, 10 degrees -> 1.

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

# Collimation and tilt (see the module docstring).
SMOOTH_STD = 0.02  # local standard deviation under which a pixel may be collimator shadow
SHADOW_TOL = 0.06  # grey-level distance from a border's level still counted as its shadow
BORDER_PX = 2  # width of the image frame whose flat pixels seed the shadow
MIN_EDGE_SHARE = 0.4  # share of a side's length a collimator edge must be seen along
INLIER_PX = 1.5  # distance from the fitted line within which a row's edge point counts
EDGE_RMS_PX = 1.0  # a straight collimator edge fits its line at least this well
MIN_INLIER_SHARE = 0.6  # of the rows where shadow meets field, share on the line
MAX_EDGE_SLOPE = 0.58  # tan(30 deg): steeper is not an edge of this side
STRIP_PX = (3, 7)  # pixels inside the edge sampled for anatomy (past the edge's blur)
AIR_LEVEL = 0.12
NO_COLLIMATION_PENALTY = 0.1


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


def _box_mean(image, radius):
    """Return the mean over a (2 radius + 1)^2 box around each pixel, edges replicated."""
    size = 2 * radius + 1
    padded = np.pad(image.astype(np.float64), radius, mode="edge")
    sums = np.pad(np.cumsum(np.cumsum(padded, axis=0), axis=1), ((1, 0), (1, 0)))
    return (
        sums[size:, size:] - sums[:-size, size:] - sums[size:, :-size] + sums[:-size, :-size]
    ) / (size * size)


def _fill_runs(mask, candidate):
    """Grow ``mask`` along rows: every run of ``candidate`` touching it is filled entirely."""
    starts = candidate & ~np.pad(candidate, ((0, 0), (1, 0)))[:, :-1]
    run_id = np.cumsum(starts.ravel(), dtype=np.int32).reshape(candidate.shape) * candidate
    hit = np.zeros(int(run_id.max()) + 1, dtype=bool)
    hit[run_id[mask & candidate]] = True
    hit[0] = False
    return hit[run_id]


def _shadow(image, smooth_std):
    """Return the flat region connected to the image border at a border's grey level."""
    mean = _box_mean(image, 2)
    std = np.sqrt(np.maximum(_box_mean(image * image, 2) - mean * mean, 0.0))
    smooth = std < smooth_std
    b = BORDER_PX
    strips = [(image[:, :b], smooth[:, :b]), (image[:b], smooth[:b])]
    strips += [(image[:, -b:], smooth[:, -b:]), (image[-b:], smooth[-b:])]
    levels = [np.median(values[flat]) for values, flat in strips if flat.mean() >= 0.5]
    if not levels:
        return np.zeros(image.shape, dtype=bool)
    near = np.zeros(image.shape, dtype=bool)
    for level in levels:
        near |= np.abs(image - level) < SHADOW_TOL
    candidate = smooth & near
    frame = np.zeros(image.shape, dtype=bool)
    frame[:b] = frame[-b:] = True
    frame[:, :b] = frame[:, -b:] = True
    shadow = candidate & frame
    candidate_t = np.ascontiguousarray(candidate.T)
    for _ in range(32):  # rows then columns; a few passes reach every connected pixel
        rows_done = _fill_runs(shadow, candidate)
        grown = _fill_runs(np.ascontiguousarray(rows_done.T), candidate_t).T
        if np.array_equal(grown, shadow):
            break
        shadow = np.ascontiguousarray(grown)
    return shadow


def _left_edge(image, shadow):
    """Fit the field edge ``x = a (y + 0.5) + b`` of a view whose side of interest is on the left.

    ``x`` is in pixel-edge units (the boundary between pixels i - 1 and i is x = i). Returns
    (a, b, share of the strip inside the edge that is anatomy) or None if no straight edge.
    """
    rows, cols = shadow.shape
    depth = np.where(shadow.all(axis=1), cols, np.argmin(shadow, axis=1))
    ys = np.nonzero((depth >= 1) & (depth < cols // 2))[0]
    if ys.size < MIN_EDGE_SHARE * rows:
        return None
    offsets = np.arange(-4, 4)
    index = np.clip(depth[ys, None] + offsets, 0, cols - 2)
    steps = np.abs(np.diff(image, axis=1))[ys[:, None], index]
    weights = np.maximum(steps - 0.5 * steps.max(axis=1, keepdims=True), 0.0)
    xs = (weights * (index + 1)).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    centres = ys + 0.5
    # Start from the line through the medians of the two halves (robust to leaks and corners),
    # then refit on the rows near the line.
    half = ys.size // 2
    y0, y1 = np.median(centres[:half]), np.median(centres[half:])
    x0, x1 = np.median(xs[:half]), np.median(xs[half:])
    slope = (x1 - x0) / max(y1 - y0, 1.0)
    intercept = x0 - slope * y0
    for _ in range(4):
        residual = np.abs(xs - (slope * centres + intercept))
        keep = residual < INLIER_PX
        if keep.sum() < 2:
            return None
        slope, intercept = np.polyfit(centres[keep], xs[keep], 1)
    residual = np.abs(xs - (slope * centres + intercept))
    keep = residual < INLIER_PX
    inliers = centres[keep]
    if (
        keep.mean() < MIN_INLIER_SHARE
        or inliers.size < 2
        or inliers.max() - inliers.min() < MIN_EDGE_SHARE * rows
        or np.sqrt(np.mean(residual[keep] ** 2)) > EDGE_RMS_PX
        or abs(slope) > MAX_EDGE_SLOPE
    ):
        return None
    inside = np.round(slope * inliers + intercept).astype(int)[:, None] + np.arange(*STRIP_PX)
    strip = image[ys[keep][:, None], np.clip(inside, 0, cols - 1)]
    return float(slope), float(intercept), float((strip > AIR_LEVEL).mean())


def _intersect(vertical, horizontal):
    """Return the point where ``x = p y + q`` meets ``y = r x + s``."""
    (p, q), (r, s) = vertical, horizontal
    x = (p * s + q) / (1.0 - p * r)
    return x, r * x + s


def _field(image, noise):
    """Return (box [4], corners [8], sides [4], measures [2], tilt, penalties [2]) of one image."""
    rows, cols = image.shape
    shadow = _shadow(image, max(SMOOTH_STD, 3.0 * float(noise)))
    views = [
        (image, shadow),
        (image.T, shadow.T),
        (image[:, ::-1], shadow[:, ::-1]),
        (image[::-1].T, shadow[::-1].T),
    ]
    edges = [_left_edge(view, mask) for view, mask in views]
    # Each side as a line: left/right x = p y + q, top/bottom y = p x + q, in pixel-edge units;
    # a side without a collimator edge is the image border.
    left, top, right, bottom = (0.0, 0.0), (0.0, 0.0), (0.0, float(cols)), (0.0, float(rows))
    if edges[0]:
        left = (edges[0][0], edges[0][1])
    if edges[1]:
        top = (edges[1][0], edges[1][1])
    if edges[2]:
        right = (-edges[2][0], cols - edges[2][1])
    if edges[3]:
        bottom = (-edges[3][0], rows - edges[3][1])
    corners = np.array(
        [
            _intersect(left, top),
            _intersect(right, top),
            _intersect(right, bottom),
            _intersect(left, bottom),
        ]
    )
    corners /= np.array([cols, rows], dtype=np.float64)
    clipped = np.clip(corners, 0.0, 1.0)
    box = np.concatenate([clipped.min(axis=0), clipped.max(axis=0)])
    x, y = clipped[:, 0], clipped[:, 1]
    fraction = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    sides = np.array([edge is not None for edge in edges], dtype=np.float32)
    # Clockwise on screen: an edge y = p x + q turns by atan(p), an edge x = p y + q by -atan(p).
    angles = [
        np.degrees(sign * np.arctan(line[0]))
        for edge, line, sign in zip(edges, (left, top, right, bottom), (-1, 1, -1, 1), strict=True)
        if edge is not None
    ]
    tilt = float(np.mean(angles)) if angles else 0.0
    anatomy = float(np.mean([edge[2] for edge in edges if edge is not None])) if angles else 0.0
    if angles:
        penalties = [_ramp(anatomy, 0.80, 0.97), _ramp(abs(tilt), 3.0, 10.0)]
    else:
        penalties = [NO_COLLIMATION_PENALTY, 0.0]
    return box, corners.reshape(-1), sides, [fraction, anatomy], tilt, penalties


def assess(images):
    """Return (measures [n, 7], penalties [n, 5], retake [n, 1], geometry outputs by name)."""
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
    fields = [_field(image, sigma) for image, sigma in zip(images, noise, strict=True)]
    geometry = {
        "FIELD_BOX": np.array([f[0] for f in fields], dtype=np.float32),
        "FIELD_CORNERS": np.array([f[1] for f in fields], dtype=np.float32),
        "FIELD_SIDES": np.array([f[2] for f in fields], dtype=np.float32),
        "FIELD_MEASURES": np.array([f[3] for f in fields], dtype=np.float32),
        "TILT_DEG": np.array([[f[4]] for f in fields], dtype=np.float32),
        "GEOMETRY_PENALTIES": np.array([f[5] for f in fields], dtype=np.float32),
    }
    every = np.concatenate([penalties, geometry["GEOMETRY_PENALTIES"]], axis=1)
    retake = 1.0 - np.prod(1.0 - every, axis=1, keepdims=True)
    return measures, penalties, retake.astype(np.float32), geometry


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
            measures, penalties, retake, geometry = assess(images.astype(np.float32, copy=False))
            outputs = [
                pb_utils.Tensor("MEASURES", measures),
                pb_utils.Tensor("PENALTIES", penalties),
                pb_utils.Tensor("RETAKE_SCORE", retake),
            ]
            outputs += [pb_utils.Tensor(name, value) for name, value in geometry.items()]
            responses.append(pb_utils.InferenceResponse(output_tensors=outputs))
        return responses
