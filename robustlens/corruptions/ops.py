"""Small image operations shared by primitive families (all on uint8/float32 HxWx3 arrays)."""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from robustlens.corruptions.base import Context

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


def to_float(image: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [0, 1]."""
    return image.astype(np.float32) * (1.0 / 255.0)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float32 in [0, 1] -> uint8 with rounding and saturation (OpenCV path: ~7x numpy's clip)."""
    return cv2.convertScaleAbs(np.maximum(image, 0), alpha=255.0)


def blend(a: np.ndarray, b: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    """(1 - alpha) * a + alpha * b, for float images; alpha may be a per-pixel map."""
    if isinstance(alpha, np.ndarray) and alpha.ndim == 2 and a.ndim == 3:
        alpha = cv2.cvtColor(alpha.astype(np.float32), cv2.COLOR_GRAY2RGB)  # faster than [:, :, None]
    return a + (b - a) * alpha


def gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with sigma in pixels (no-op for sigma <= 0)."""
    if sigma <= 0:
        return image
    k = int(2 * round(3 * sigma) + 1)
    return cv2.GaussianBlur(image, (k, k), sigma, borderType=cv2.BORDER_REFLECT)


def smooth_field(
    shape: tuple[int, int], feature_px: float, rng: np.random.Generator, octaves: int = 1
) -> np.ndarray:
    """A smooth random field in [0, 1] with features ~``feature_px`` pixels wide.

    Multi-octave value noise from upsampled random grids: a fast stand-in for the plasma fractal
    ImageNet-C uses for fog (cost independent of feature size).
    """
    h, w = shape
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    size = max(1.0, feature_px)
    for _ in range(octaves):
        gh, gw = max(2, int(np.ceil(h / size)) + 1), max(2, int(np.ceil(w / size)) + 1)
        grid = rng.random((gh, gw), dtype=np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
        size /= 2.0
    out /= total
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / (hi - lo + 1e-6)


def disk_kernel(radius: float) -> np.ndarray:
    """Normalised disk (defocus) kernel of a given radius in pixels."""
    r = max(radius, 0.5)
    size = int(np.ceil(r)) * 2 + 1
    y, x = np.mgrid[:size, :size] - size // 2
    k = ((x * x + y * y) <= r * r).astype(np.float32)
    k = cv2.GaussianBlur(k, (3, 3), 0.5)
    return k / k.sum()


def line_kernel(length: float, angle_deg: float) -> np.ndarray:
    """Normalised linear motion kernel of ``length`` pixels at ``angle_deg``."""
    length = max(1.0, length)
    size = int(np.ceil(length)) | 1
    k = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = np.cos(np.deg2rad(angle_deg)), np.sin(np.deg2rad(angle_deg))
    half = (length - 1) / 2
    for t in np.linspace(-half, half, max(2, int(length) * 2)):
        k[int(round(c + t * dy)), int(round(c + t * dx))] = 1.0
    return k / k.sum()


def motion_kernel(length: int, decay: float, angle_deg: float) -> tuple[np.ndarray, tuple[int, int]]:
    """ImageNet-C's motion-blur kernel as one 2-D correlation kernel (Hendrycks & Dietterich 2019).

    ImageNet-C shifts the image by ``-ceil(i * (sin, cos)(angle) - 0.5)`` px for i = 0..length-1
    and sums the shifts with normalised weights ``exp(-i^2 / 2 decay^2)``; the same sum as a
    kernel lets OpenCV do it in one pass (use ``BORDER_REPLICATE``, as its shifts replicate edges).
    Returns the kernel cropped to the streak and its anchor (x, y) for ``cv2.filter2D``: the
    streak is one-sided, so the crop is about a quarter of the square kernel.
    """
    weights = np.exp(-(np.arange(length, dtype=np.float64) ** 2) / (2.0 * decay * decay))
    weights /= weights.sum()
    sin, cos = np.sin(np.deg2rad(angle_deg)), np.cos(np.deg2rad(angle_deg))
    i = np.arange(length)
    dy = -np.ceil(i * sin - 0.5).astype(int)
    dx = -np.ceil(i * cos - 0.5).astype(int)
    c = length
    k = np.zeros((2 * length + 1, 2 * length + 1), np.float64)
    np.add.at(k, (c - dy, c - dx), weights)  # out(y, x) = sum_i w_i * in(y - dy_i, x - dx_i)
    ys, xs = np.nonzero(k)
    y0, x0 = int(ys.min()), int(xs.min())
    crop = k[y0 : int(ys.max()) + 1, x0 : int(xs.max()) + 1]
    return crop.astype(np.float32), (c - x0, c - y0)


def filter2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)


def remap(
    image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, border: int = cv2.BORDER_REFLECT
) -> np.ndarray:
    return cv2.remap(
        image, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR, borderMode=border
    )


def resize(image: np.ndarray, width: int, height: int, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    return cv2.resize(image, (max(1, width), max(1, height)), interpolation=interpolation)


@lru_cache(maxsize=256)
def _compose(factory: Callable[..., Any], key: Hashable) -> Any:
    import albumentations as A

    return A.Compose([factory(*key)], seed=0)


def albu(factory: Callable[..., Any], args: tuple[Any, ...], image: np.ndarray, ctx: Context) -> np.ndarray:
    """Run an albumentations transform built by ``factory(*args)`` (always p=1), seeded from ctx.

    Composes are cached per argument tuple; each call re-seeds through ``Compose.set_random_seed``
    so the output depends only on the context's seed.
    """
    compose = _compose(factory, args)
    compose.set_random_seed(ctx.seed())
    return compose(image=image)["image"]


def grain_noise(
    shape: tuple[int, ...], ctx: Context, kind: str = "normal", grain: str = "reference"
) -> np.ndarray:
    """Float32 noise (standard normal or uniform [0, 1)) of ``shape`` = (h, w) or (h, w, c).

    ``grain='reference'`` draws one value per pixel of the 224 px reference grid and enlarges it
    (nearest neighbour) on larger images, so the noise a model sees after resizing to its input is
    the same at any resolution; ``grain='pixel'`` draws per stored pixel, as a sensor does (it then
    averages away when a large image is downsampled).
    """
    h, w = shape[0], shape[1]
    small = (max(1, round(h / ctx.scale)), max(1, round(w / ctx.scale)), *shape[2:])
    draw_shape = small if grain == "reference" and ctx.scale > 1.25 else tuple(shape)
    if kind == "normal":
        noise = ctx.rng.standard_normal(draw_shape, dtype=np.float32)
    else:
        noise = ctx.rng.random(draw_shape, dtype=np.float32)
    if draw_shape != tuple(shape):
        noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_NEAREST)
        if len(shape) == 3 and noise.ndim == 2:
            noise = noise[:, :, None]
    return noise
