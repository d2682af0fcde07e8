"""Torch image operations with OpenCV's definitions, for the set-2 device kernels (issue 14).

Why: a device kernel must match its numpy primitive (mean SSIM within 0.02), so the building
blocks follow OpenCV's conventions exactly where the numpy code relies on them: Gaussian taps of
``cv2.getGaussianKernel`` with a kernel cut at 3 sigma, ``BORDER_REFLECT`` (symmetric) and
``BORDER_REFLECT_101`` padding, ``INTER_LINEAR`` resizing with half-pixel centres, ``INTER_AREA``
downsampling as exact fractional box averages, and bilinear remapping with OpenCV's border
modes. Random layers that the numpy code draws from ``ctx.rng`` are drawn with the same
generator (``Batch.rngs``), so the device path sees the same random geometry as the CPU path.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from robustlens.corruptions.base import REFERENCE_SIDE
from robustlens.corruptions.device._ops import pad, resize_area

# OpenCV border names -> how an out-of-range index is folded back into 0..n-1
BORDERS = ("reflect", "reflect101", "replicate", "constant")
GRAY = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma, as cv2.COLOR_RGB2GRAY


def ref_shape(h: int, w: int) -> tuple[int, int]:
    """``weather._ref_shape`` for an image of ``h`` x ``w``: the reference grid (short side 224)."""
    s = REFERENCE_SIDE / min(h, w)
    s = min(s, float(np.sqrt(max(h * w, 4 * REFERENCE_SIDE**2) / (h * w))))
    return max(1, round(h * s)), max(1, round(w * s))


def px(value: float, scale: float, minimum: float = 0.0) -> float:
    """``Context.px``: a length given at the reference resolution, scaled to the image."""
    return max(minimum, float(value) * scale)


def host(planes: Sequence[np.ndarray], device: torch.device) -> torch.Tensor:
    """Stack per-image numpy planes (HxW or HxWxC) into a (B, C, H, W) float32 tensor on ``device``."""
    arr = np.stack([np.asarray(p, np.float32) for p in planes])
    t = torch.from_numpy(arr)
    t = t[:, None] if t.ndim == 3 else t.permute(0, 3, 1, 2)
    return t.contiguous().to(device)


def colour(rgb: Sequence[float], device: torch.device) -> torch.Tensor:
    """An RGB colour as a (1, 3, 1, 1) tensor."""
    return torch.tensor([float(c) for c in rgb], dtype=torch.float32, device=device).view(1, 3, 1, 1)


def gray(x: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) luma of an RGB batch, as ``cv2.COLOR_RGB2GRAY``."""
    return x[:, 0:1] * GRAY[0] + x[:, 1:2] * GRAY[1] + x[:, 2:3] * GRAY[2]


def mix(x: torch.Tensor, other: torch.Tensor, alpha: torch.Tensor | float) -> torch.Tensor:
    """``(1 - alpha) * x + alpha * other`` (``cv2.blendLinear``; ``other`` may be a colour)."""
    return x + (other - x) * alpha


def u8(x: torch.Tensor) -> torch.Tensor:
    """Round and saturate to the 256 levels of uint8, staying float in [0, 1] (an OpenCV uint8 result)."""
    return torch.round(x.clamp(0.0, 1.0) * 255.0) / 255.0


@lru_cache(maxsize=64)
def _taps(size: int, sigma: float) -> tuple[float, ...]:
    """``cv2.getGaussianKernel(size, sigma)`` (sigma > 0)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    k = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return tuple((k / k.sum()).tolist())


def ksize(sigma: float) -> int:
    """``ops.gaussian``'s kernel size: cut at 3 sigma."""
    return int(2 * round(3 * sigma) + 1)


def conv_path(x: torch.Tensor) -> bool:
    """Whether filters run as convolutions (accelerators) or as sums of shifted slices (CPU)."""
    return x.device.type != "cpu"


def _shifted_sum(planes: torch.Tensor, taps: Sequence[float], dim: int) -> torch.Tensor:
    """Valid correlation along ``dim`` as a sum of shifted slices (CPU: ~5x faster than conv2d)."""
    n = len(taps)
    size = planes.shape[dim] - n + 1
    out = planes.narrow(dim, 0, size) * float(taps[0])
    for i in range(1, n):
        out.add_(planes.narrow(dim, i, size), alpha=float(taps[i]))
    return out


def sep_filter(x: torch.Tensor, ky: torch.Tensor, kx: torch.Tensor, border: str = "reflect") -> torch.Tensor:
    """Separable correlation of every plane of (B, C, H, W) with 1-D taps ``ky`` then ``kx``.

    On an accelerator one convolution per axis; on CPU torch a sum of shifted slices, because
    oneDNN's single-channel convolutions are ~5x slower than that there (same values).
    """
    b, c, h, w = x.shape
    planes = x.reshape(b * c, 1, h, w)
    ry, rx = (ky.numel() - 1) // 2, (kx.numel() - 1) // 2
    planes = pad(planes, ry, ky.numel() - 1 - ry, rx, kx.numel() - 1 - rx, border)
    if not conv_path(x):
        planes = _shifted_sum(_shifted_sum(planes, ky.tolist(), -2), kx.tolist(), -1)
    else:
        planes = F.conv2d(F.conv2d(planes, ky.view(1, 1, -1, 1)), kx.view(1, 1, 1, -1))
    return planes.reshape(b, c, h, w)


def gaussian(
    x: torch.Tensor, sigma: float, sigma_y: float | None = None, border: str = "reflect"
) -> torch.Tensor:
    """``ops.gaussian`` (``cv2.GaussianBlur``, BORDER_REFLECT, cut at 3 sigma); no-op for sigma <= 0."""
    sy = sigma if sigma_y is None else sigma_y
    if sigma <= 0 and sy <= 0:
        return x
    kx = _tap_tensor(sigma, x.device)
    ky = _tap_tensor(sy, x.device)
    return sep_filter(x, ky, kx, border)


def _tap_tensor(sigma: float, device: torch.device) -> torch.Tensor:
    if sigma <= 0:
        return torch.ones(1, device=device)
    return torch.tensor(_taps(ksize(sigma), float(sigma)), dtype=torch.float32, device=device)


def filter2d(x: torch.Tensor, kernels: torch.Tensor, border: str = "reflect") -> torch.Tensor:
    """``cv2.filter2D`` (correlation, centred anchor) of image i with ``kernels[i]`` (B, kh, kw).

    On an accelerator one grouped convolution; on CPU torch a sum of shifted slices over each
    kernel's non-zero taps (motion streaks and vibration paths are sparse).
    """
    b, c, h, w = x.shape
    kh, kw = kernels.shape[-2:]
    kernels = kernels.to(x)
    if not conv_path(x):
        padded = pad(x, kh // 2, kh - 1 - kh // 2, kw // 2, kw - 1 - kw // 2, border)
        out = torch.zeros_like(x)
        for i in range(b):
            for y, xx in kernels[i].nonzero().tolist():
                out[i].add_(padded[i, :, y : y + h, xx : xx + w], alpha=float(kernels[i, y, xx]))
        return out
    planes = pad(x.reshape(1, b * c, h, w), kh // 2, kh - 1 - kh // 2, kw // 2, kw - 1 - kw // 2, border)
    weight = kernels.repeat_interleave(c, dim=0).view(b * c, 1, kh, kw)
    return F.conv2d(planes, weight, groups=b * c).reshape(b, c, h, w)


def resize(x: torch.Tensor, h: int, w: int, interp: str = "auto") -> torch.Tensor:
    """``cv2.resize``: ``auto`` is INTER_AREA when shrinking (box average), INTER_LINEAR otherwise."""
    if tuple(x.shape[-2:]) == (h, w):
        return x
    if interp == "auto":
        interp = "area" if h < x.shape[-2] else "linear"
    if interp == "area":  # exact fractional box weights, as OpenCV (helper C1's matrix form)
        return resize_area(x, h, w)
    if interp == "cubic":
        return F.interpolate(x, size=(h, w), mode="bicubic", align_corners=False)
    return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)


def grid(h: int, w: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel coordinates: xs (1, 1, w) and ys (1, h, 1), float32."""
    xs = torch.arange(w, dtype=torch.float32, device=device).view(1, 1, w)
    ys = torch.arange(h, dtype=torch.float32, device=device).view(1, h, 1)
    return xs, ys


def remap(
    x: torch.Tensor, map_x: torch.Tensor, map_y: torch.Tensor, border: str = "reflect", fill: float = 0.0
) -> torch.Tensor:
    """``cv2.remap`` with INTER_LINEAR: out[b, :, y, x] = x[b, :, map_y, map_x] (maps (B, H, W) in px).

    ``grid_sample``'s reflection about pixel centres (``align_corners=True``) is BORDER_REFLECT_101;
    about the pixel edges (``align_corners=False``) it is BORDER_REFLECT; BORDER_CONSTANT with a
    fill value samples ``x - fill`` with zero padding and adds the fill back.
    """
    h, w = x.shape[-2:]
    map_x, map_y = torch.broadcast_tensors(map_x, map_y)
    if border == "reflect":
        gx, gy = (2.0 * map_x + 1.0) / w - 1.0, (2.0 * map_y + 1.0) / h - 1.0
        align, mode = False, "reflection"
    else:
        gx, gy = 2.0 * map_x / max(w - 1, 1) - 1.0, 2.0 * map_y / max(h - 1, 1) - 1.0
        align = True
        mode = {"reflect101": "reflection", "replicate": "border", "constant": "zeros"}[border]
    g = torch.stack([gx, gy], dim=-1).expand(x.shape[0], -1, -1, -1)
    src = x - fill if (border == "constant" and fill) else x
    out = F.grid_sample(src, g, mode="bilinear", padding_mode=mode, align_corners=align)
    return out + fill if (border == "constant" and fill) else out


def warp_affine(
    x: torch.Tensor, inverse: torch.Tensor, border: str = "reflect", fill: float = 0.0
) -> torch.Tensor:
    """``cv2.warpAffine`` given the inverse maps (B, 2, 3): destination pixel -> source pixel."""
    h, w = x.shape[-2:]
    xs, ys = grid(h, w, x.device)
    m = inverse.to(x).view(-1, 6, 1, 1)
    map_x = m[:, 0] * xs + m[:, 1] * ys + m[:, 2]
    map_y = m[:, 3] * xs + m[:, 4] * ys + m[:, 5]
    return remap(x, map_x, map_y, border, fill)


def quantile_k(values: torch.Tensor, q: float) -> torch.Tensor:
    """Per image, ``weather._quantile``: the element of rank ``round(q * (n - 1))`` (B,) of (B, ...)."""
    flat = values.reshape(values.shape[0], -1)
    k = int(np.clip(round(q * (flat.shape[1] - 1)), 0, flat.shape[1] - 1))
    return flat.kthvalue(k + 1, dim=1).values


def smooth_field(
    rngs: Sequence[np.random.Generator],
    shape: tuple[int, int],
    feature_px: float,
    device: torch.device,
    octaves: int = 1,
    fields: int = 1,
) -> torch.Tensor:
    """``ops.smooth_field`` called ``fields`` times in a row per generator: (B, fields, h, w) in [0, 1].

    The small random grids are drawn on the host from the same generators in the same order (so
    the field is the CPU one up to interpolation rounding); the bicubic upsampling (OpenCV's and
    torch's both use a = -0.75 with replicated borders) and the normalisation run on the device,
    one call per octave for the whole batch.
    """
    h, w = shape
    sizes, size = [], max(1.0, feature_px)
    for _ in range(octaves):
        sizes.append((max(2, int(np.ceil(h / size)) + 1), max(2, int(np.ceil(w / size)) + 1)))
        size /= 2.0
    # per image: every octave of field 0, then of field 1, ... (the CPU's call order)
    draws = [[[r.random(g, dtype=np.float32) for g in sizes] for _ in range(fields)] for r in rngs]
    out = torch.zeros((len(rngs), fields, h, w), dtype=torch.float32, device=device)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        grids = host([np.stack([d[f][o] for f in range(fields)], axis=-1) for d in draws], device)
        out += amp * resize(grids, h, w, "cubic")
        total += amp
        amp *= 0.5
    out /= total
    lo = out.amin(dim=(2, 3), keepdim=True)
    hi = out.amax(dim=(2, 3), keepdim=True)
    return (out - lo) / (hi - lo + 1e-6)


@lru_cache(maxsize=32)
def _linear_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """OpenCV's INTER_LINEAR source indices and 11-bit fixed-point weights along one axis."""
    fx = ((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5).astype(np.float32)
    sx = np.floor(fx).astype(np.int64)
    fx = (fx - sx.astype(np.float32)).astype(np.float32)
    lo, hi = sx < 0, sx >= n_in - 1
    fx[lo | hi] = 0.0
    sx[lo], sx[hi] = 0, n_in - 1
    a1 = np.rint(fx * np.float32(2048)).astype(np.int32)
    a0 = np.rint((np.float32(1) - fx) * np.float32(2048)).astype(np.int32)
    return sx, np.minimum(sx + 1, n_in - 1), a0, a1


def resize_linear_u8(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``cv2.resize(INTER_LINEAR)`` of a uint8-valued batch in OpenCV's fixed-point arithmetic.

    Why: for 8-bit images OpenCV interpolates with 11-bit weights and rounds in two stages (its
    SIMD row pass); float bilinear differs by one level on ~12 % of pixels, which a following
    contrast boost (``low_dpi``'s gain 4) turns into several levels.
    """
    dev = x.device
    v = torch.round(x * 255.0).to(torch.int32)
    sx, sx1, a0, a1 = (torch.from_numpy(a).to(dev) for a in _linear_taps(int(x.shape[-1]), w))
    rows = v[..., sx] * a0 + v[..., sx1] * a1  # (B, C, H, w), scaled by 2048
    sy, sy1, b0, b1 = (torch.from_numpy(a).to(dev) for a in _linear_taps(int(x.shape[-2]), h))
    b0, b1 = b0.view(-1, 1), b1.view(-1, 1)
    out = (((b0 * (rows[..., sy, :] >> 4)) >> 16) + ((b1 * (rows[..., sy1, :] >> 4)) >> 16) + 2) >> 2
    return out.to(torch.float32) / 255.0


def quantile_linear(values: torch.Tensor, q: float) -> torch.Tensor:
    """Per row of (B, N): ``np.quantile(row, q)`` with NumPy's linear interpolation (and its lerp).

    Why not ``torch.quantile``: it refuses inputs of more than 16 million elements (a batch of
    256 images at 224 px is 38 million samples); two order statistics by ``kthvalue`` are enough.
    """
    n = int(values.shape[1])
    pos = (n - 1) * float(q)
    lo = int(np.floor(pos))
    hi, t = min(lo + 1, n - 1), pos - lo
    a = values.kthvalue(lo + 1, dim=1).values.double()
    b = values.kthvalue(hi + 1, dim=1).values.double()
    out = b - (b - a) * (1.0 - t) if t >= 0.5 else a + (b - a) * t
    return out.to(values.dtype)
