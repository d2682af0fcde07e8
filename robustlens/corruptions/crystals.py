"""Procedural ice crystals for the frost corruption (``primitives/weather.py``) and its device kernel.

Fern-like dendrites (stems along the six directions of hexagonal ice, side branches at +-60 degrees)
drawn with OpenCV polylines on the reference grid; their draws come from the primitive's generator in
a fixed order, so the numpy primitive and the device kernel (which draws them on the host) agree.
"""

from __future__ import annotations

import cv2
import numpy as np

from robustlens.corruptions.ops import to_float


def dendrites(shape: tuple[int, int], count: int, length: float, rng: np.random.Generator) -> np.ndarray:
    """Fern-like ice crystals: stems along the 6 directions of hexagonal ice with +-60 deg side branches."""
    return to_float(dendrite_canvas(shape, count, length, rng))


# crystal geometry constants: branch positions along the stem, their relative lengths, +-60 deg
_BRANCH_AT = np.array([0.15, 0.3, 0.45, 0.6, 0.75, 0.9])
_BRANCH_LEN = (1.0 - _BRANCH_AT)[None, :] * 0.45
_BRANCH_SIDES = np.array([-np.pi / 3, np.pi / 3])[None, :, None]


def dendrite_canvas(
    shape: tuple[int, int], count: int, length: float, rng: np.random.Generator
) -> np.ndarray:
    """``dendrites`` as drawn: a uint8 canvas (stems 255, branches 150)."""
    rh, rw = shape
    org = rng.random((count, 2)) * np.array([rw, rh])
    theta = np.deg2rad(rng.uniform(0, 60) + 60.0 * rng.integers(0, 6, count) + rng.normal(0, 6, count))
    size = length * (0.4 + 1.2 * rng.random(count))
    t = _BRANCH_AT
    dirs = np.stack([np.cos(theta), np.sin(theta)], 1)
    starts = org[:, None, :] + (t[None, :, None] * size[:, None, None]) * dirs[:, None, :]
    blen = _BRANCH_LEN * size[:, None] * (0.5 + 0.5 * rng.random((count, t.size)))
    tips = org + size[:, None] * dirs
    b = theta[:, None, None] + _BRANCH_SIDES  # both sides at once
    ends = starts[:, None] + blen[:, None, :, None] * np.stack([np.cos(b), np.sin(b)], -1)
    # One polyline per crystal (OpenCV's cost is mostly per polyline: 3x faster than one per
    # branch): each branch is drawn out and back from its start, and the path runs on along the
    # stem to the next start. The stem, drawn over it through the same starts, hides that run.
    path = np.stack([starts, ends[:, 0], starts, ends[:, 1], starts], 2).reshape(count, 5 * t.size, 2)
    stems = np.concatenate([org[:, None], starts, tips[:, None]], 1)
    canvas = np.zeros((rh, rw), np.uint8)
    if count == 0:
        return canvas
    cv2.polylines(canvas, np.rint(path * 8).astype(np.int32), False, 150, 1, cv2.LINE_8, 3)
    # LINE_8 rather than LINE_AA: the 0.5 px blur applied after drawing antialiases (and is faster)
    cv2.polylines(canvas, np.rint(stems * 8).astype(np.int32), False, 255, 1, cv2.LINE_8, 3)
    return canvas


# ops.gaussian's taps for sigma 0.5 (size 2 * round(1.5) + 1 = 5); the row taps also scale by 1/255
CRYSTAL_TAPS = cv2.getGaussianKernel(5, 0.5, cv2.CV_32F)
CRYSTAL_TAPS_SCALED = (CRYSTAL_TAPS / np.float32(255.0)).astype(np.float32)


def blurred_crystals(canvas: np.ndarray) -> np.ndarray:
    """``ops.gaussian(to_float(canvas), 0.5)`` in one pass: the uint8 canvas is filtered straight to
    float32 with the 1/255 scale folded into the row taps (same values to float rounding)."""
    return cv2.sepFilter2D(
        canvas, cv2.CV_32F, CRYSTAL_TAPS_SCALED, CRYSTAL_TAPS, borderType=cv2.BORDER_REFLECT
    )
