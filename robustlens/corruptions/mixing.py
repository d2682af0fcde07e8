"""Per-pixel blends of uint8 images on float32 levels (weather primitives: frost, fog, spatter, rain).

OpenCV's uint8 ``blendLinear`` is scalar code while its float32 path is vectorised and computes the
same ``(a * w1 + b * w2) / (w1 + w2 + 1e-5)`` that the uint8 path rounds: blending float32 copies
of the uint8 levels and rounding once (or in place between chained blends) gives the same bytes in
two thirds of the time, and chains of blends skip the conversions in between.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np


def mix(image: np.ndarray, other: np.ndarray | tuple[float, ...], alpha: np.ndarray) -> np.ndarray:
    """uint8 ``(1 - alpha) * image + alpha * other`` per pixel, ``alpha`` in [0, 1]; ``other`` may be
    an RGB colour in [0, 1]. The bytes of ``cv2.blendLinear`` on the uint8 images, one third faster."""
    return cv2.convertScaleAbs(mix_levels(image.astype(np.float32), other, alpha))


def mix_levels(levels: np.ndarray, other: np.ndarray | tuple[float, ...], alpha: np.ndarray) -> np.ndarray:
    """``mix`` of a float32 image of uint8 levels (0..255), in place and not yet rounded:
    ``convertScaleAbs`` of the result (or ``np.rint`` between chained mixes) gives ``mix``'s bytes."""
    if not isinstance(other, np.ndarray):
        other = colour_plane(levels.shape, tuple(float(c) for c in other))
    elif other.dtype != np.float32:
        other = other.astype(np.float32)
    alpha = np.ascontiguousarray(alpha, dtype=np.float32)
    return cv2.blendLinear(levels, other, np.float32(1.0) - alpha, alpha, dst=levels)


@lru_cache(maxsize=4)
def colour_plane(shape: tuple[int, ...], colour: tuple[float, ...]) -> np.ndarray:
    """A read-only float32 image of one colour's uint8 levels (cached: a 3-value broadcast fill
    costs ~0.2 ms)."""
    plane = np.empty(shape, np.float32)
    plane[:] = np.clip(np.rint(np.asarray(colour, np.float32) * 255.0), 0, 255)
    plane.flags.writeable = False
    return plane
