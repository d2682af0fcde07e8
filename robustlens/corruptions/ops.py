"""Small image operations shared by primitive families (all on uint8/float32 HxWx3 arrays)."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from robustlens.corruptions.base import Context

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


_INV255 = np.float32(1.0 / 255.0)


def to_float(image: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [0, 1] (one pass, no float32 temporary; same values as astype * 1/255)."""
    return np.multiply(image, _INV255, dtype=np.float32)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float32 in [0, 1] -> uint8 with rounding and saturation (OpenCV path: ~7x numpy's clip)."""
    return cv2.convertScaleAbs(np.maximum(image, 0), alpha=255.0)


def blend(a: np.ndarray, b: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    """(1 - alpha) * a + alpha * b, for float images; alpha may be a per-pixel map."""
    if isinstance(alpha, np.ndarray) and alpha.ndim == 2 and a.ndim == 3:
        alpha = cv2.cvtColor(alpha.astype(np.float32), cv2.COLOR_GRAY2RGB)  # faster than [:, :, None]
    elif not isinstance(alpha, np.ndarray) and a.dtype == b.dtype == np.float32 and a.shape == b.shape:
        return cv2.addWeighted(a, 1.0 - float(alpha), b, float(alpha), 0.0)  # one pass, no temporaries
    return a + (b - a) * alpha


def gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with sigma in pixels (no-op for sigma <= 0), kernel cut at 3 sigma.

    uint8 images go through ``cv2.sepFilter2D`` with the same float kernel: 2-3x faster than
    ``cv2.GaussianBlur``'s bit-exact fixed-point path for uint8, within one level of it.
    """
    if sigma <= 0:
        return image
    k = int(2 * round(3 * sigma) + 1)
    if image.dtype == np.uint8:
        taps = _gaussian_taps(k, float(sigma))
        return cv2.sepFilter2D(image, -1, taps, taps, borderType=cv2.BORDER_REFLECT)
    return cv2.GaussianBlur(image, (k, k), sigma, borderType=cv2.BORDER_REFLECT)


@lru_cache(maxsize=64)
def _gaussian_taps(size: int, sigma: float) -> np.ndarray:
    taps = cv2.getGaussianKernel(size, sigma, cv2.CV_32F)
    taps.flags.writeable = False
    return taps


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


def channel_percentile(values: np.ndarray, q: float) -> np.ndarray:
    """``np.percentile(values, q, axis=0)`` for uint8 ``values`` of shape (N, C), from histograms.

    Why: sorting 150k samples per call cost ~1.5 ms; counting 256 levels per channel and reading
    the two order statistics off the cumulative counts gives the same float64 result (NumPy's
    default linear interpolation, including its lerp formula) in a fraction of that.
    """
    n = values.shape[0]
    pos = (n - 1) * (float(q) / 100.0)  # as NumPy: q / 100 first
    lo = int(np.floor(pos))
    hi, t = min(lo + 1, n - 1), pos - lo
    out = np.empty(values.shape[1], np.float64)
    for c in range(values.shape[1]):
        cdf = np.cumsum(np.bincount(values[:, c], minlength=256))
        a, b = np.searchsorted(cdf, [lo, hi], side="right").astype(np.float64)  # lo-th, hi-th smallest
        out[c] = b - (b - a) * (1.0 - t) if t >= 0.5 else a + (b - a) * t
    return out


@lru_cache(maxsize=64)
def disk_kernel(radius: float) -> np.ndarray:
    """Normalised disk (defocus) kernel of a given radius in pixels (cached: read-only)."""
    r = max(radius, 0.5)
    size = int(np.ceil(r)) * 2 + 1
    y, x = np.mgrid[:size, :size] - size // 2
    k = ((x * x + y * y) <= r * r).astype(np.float32)
    k = cv2.GaussianBlur(k, (3, 3), 0.5)
    k /= k.sum()
    k.flags.writeable = False
    return k


def line_kernel(length: float, angle_deg: float) -> np.ndarray:
    """Normalised linear motion kernel of ``length`` pixels at ``angle_deg``."""
    length = max(1.0, length)
    size = int(np.ceil(length)) | 1
    k = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = np.cos(np.deg2rad(angle_deg)), np.sin(np.deg2rad(angle_deg))
    half = (length - 1) / 2
    t = np.linspace(-half, half, max(2, int(length) * 2))
    k[np.rint(c + t * dy).astype(np.intp), np.rint(c + t * dx).astype(np.intp)] = 1.0  # rint = round()
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
    ys, xs = c - dy, c - dx  # out(y, x) = sum_i w_i * in(y - dy_i, x - dx_i)
    live = weights > 0  # far taps of a short decay underflow to 0: the crop ends at the last live one
    y0, x0 = int(ys[live].min()), int(xs[live].min())
    kh, kw = int(ys[live].max()) - y0 + 1, int(xs[live].max()) - x0 + 1
    ys, xs, weights = ys[live], xs[live], weights[live]
    # repeated taps summed in order, as np.add.at would (bincount is ~10x faster on small arrays)
    crop = np.bincount((ys - y0) * kw + (xs - x0), weights, minlength=kh * kw).reshape(kh, kw)
    return crop.astype(np.float32), (c - x0, c - y0)


def filter2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)


_FFT_MIN_TAPS = 48  # below this many kernel taps direct filtering is faster than three DFT pairs


def fft_filter(
    image: np.ndarray,
    kernel: np.ndarray,
    anchor: tuple[int, int] | None = None,
    border: int = cv2.BORDER_REFLECT,
    cache: bool = False,
) -> np.ndarray:
    """``cv2.filter2D(image, -1, kernel, anchor=anchor, borderType=border)`` for large kernels.

    Why: for the defocus disk and the motion streak (13..41 px at 224 px, more on large photos)
    OpenCV's filter2D takes ~3 ms per 224 px image; the same correlation by real DFTs of the
    border-padded planes (kernel spectrum computed once for the three channels) takes ~1 ms and
    grows as N log N with the image. Same result up to float32 rounding (|diff| <= 1 level).
    Small kernels go to ``cv2.filter2D`` on float32 (faster than on uint8 here). ``cache=True``
    keeps the kernel's spectrum for the next call (for kernels fixed by the parameters).
    """
    kh, kw = kernel.shape
    ax, ay = anchor if anchor is not None else (kw // 2, kh // 2)
    if kh * kw < _FFT_MIN_TAPS:
        out = cv2.filter2D(image.astype(np.float32), -1, kernel, anchor=(ax, ay), borderType=border)
        return out if image.dtype != np.uint8 else cv2.convertScaleAbs(out)
    h, w = image.shape[:2]
    ph, pw = h + kh - 1, w + kw - 1
    fh, fw = cv2.getOptimalDFTSize(ph), cv2.getOptimalDFTSize(pw)
    kernel = np.ascontiguousarray(kernel, dtype=np.float32)
    if cache:
        spectrum = _kernel_spectrum(kernel.tobytes(), kernel.shape, fh, fw)
    else:
        spectrum = cv2.dft(_zero_pad(kernel, fh, fw))
    # Each plane is border-padded straight to the DFT size: rows and columns past the valid
    # padding only meet kernel taps at outputs >= (h, w) (circular wrap), which are cut off, so
    # they may hold more border instead of zeros (one pass per plane, no zeroed canvas and split).
    planes = cv2.split(image) if image.ndim == 3 else [image]
    flags = cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE
    outs = []
    for p in planes:
        padded = cv2.copyMakeBorder(p, ay, fh - h - ay, ax, fw - w - ax, border)
        spec = cv2.mulSpectrums(cv2.dft(padded.astype(np.float32)), spectrum, 0, conjB=True)
        # valid correlation: out[y, x] = sum k[i, j] * padded[y + i, x + j]
        out = cv2.idft(spec, flags=flags)[:h, :w]
        outs.append(cv2.convertScaleAbs(out) if image.dtype == np.uint8 else out)
    return cv2.merge(outs) if image.ndim == 3 else np.ascontiguousarray(outs[0])


@lru_cache(maxsize=8)
def _kernel_spectrum(data: bytes, shape: tuple[int, int], fh: int, fw: int) -> np.ndarray:
    kernel = np.frombuffer(data, np.float32).reshape(shape)
    return cv2.dft(_zero_pad(kernel, fh, fw))


def _zero_pad(plane: np.ndarray, fh: int, fw: int) -> np.ndarray:
    h, w = plane.shape
    return cv2.copyMakeBorder(plane, 0, fh - h, 0, fw - w, cv2.BORDER_CONSTANT, value=0)


def remap(
    image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, border: int = cv2.BORDER_REFLECT
) -> np.ndarray:
    return cv2.remap(
        image, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR, borderMode=border
    )


def resize(image: np.ndarray, width: int, height: int, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    return cv2.resize(image, (max(1, width), max(1, height)), interpolation=interpolation)


@lru_cache(maxsize=256)
def _compose(factory: Callable[..., Any], key: tuple[Any, ...]) -> Any:
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


def standard_normal(shape: tuple[int, ...], ctx: Context) -> np.ndarray:
    """Float32 standard normal noise of ``shape``, seeded from ctx (same seed -> same bytes).

    Why: NumPy's ``Generator.standard_normal`` costs ~1.7 ms for a 224 px RGB image here, most of
    a noise primitive's time; OpenCV's ``randn`` (its seeded multiply-with-carry generator, Gaussian
    by the ziggurat method) fills the same array in ~0.5 ms. One integer drawn from ``ctx.rng``
    seeds it, so the result still depends only on the context's seed. The array is filled as one
    channel (OpenCV would read a scalar std as (std, 0, 0) on three channels).
    """
    noise = np.empty(shape, np.float32)
    cv2.setRNGSeed(ctx.seed())  # OpenCV's default generator is per thread: no cross-talk
    cv2.randn(noise.reshape(shape[0] if len(shape) > 1 else 1, -1), 0.0, 1.0)
    return noise


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
        noise = standard_normal(draw_shape, ctx)
    else:
        noise = ctx.rng.random(draw_shape, dtype=np.float32)
    if draw_shape != tuple(shape):
        noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_NEAREST)
        if len(shape) == 3 and noise.ndim == 2:
            noise = noise[:, :, None]
    return noise
