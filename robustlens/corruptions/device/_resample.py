"""Resampling of the device kernels with OpenCV's definitions (issue 14): ``cv2.resize``,
``cv2.remap``, ``cv2.warpAffine`` and the pixel grid they use.

A device kernel must match its numpy primitive (mean SSIM within 0.02), so each operation follows
the OpenCV rule the numpy code relies on: half-pixel centres and replicated borders for
``INTER_LINEAR``/``INTER_CUBIC`` (cubic with a = -0.75, as torch's), ``INTER_AREA`` as exact
fractional box averages (and OpenCV's own rule when enlarging), the 8-bit fixed-point
``INTER_LINEAR`` where a later gain magnifies its rounding, and bilinear remapping with OpenCV's
border modes. One implementation per operation; the variants are parameters.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

INTERPOLATIONS = ("auto", "area", "linear", "cubic", "nearest")


@lru_cache(maxsize=64)
def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of OpenCV's ``INTER_AREA`` along one axis.

    Shrinking averages the exact fractional overlap of each output cell; enlarging is OpenCV's
    area-upsampling rule (nearest neighbour with the seam pixel blended by its overlap), so
    ``pixelate`` keeps its blended block seams.
    """
    m = np.zeros((n_out, n_in), np.float64)
    scale = n_in / n_out
    if scale >= 1.0:
        for d in range(n_out):
            lo, hi = d * scale, (d + 1) * scale
            for s in range(int(np.floor(lo)), min(n_in, int(np.ceil(hi)))):
                m[d, s] = min(hi, s + 1) - max(lo, s)
        m /= m.sum(axis=1, keepdims=True)
    else:
        inv = n_out / n_in
        for d in range(n_out):
            s = int(np.floor(d * scale))
            f = (d + 1) - (s + 1) * inv
            f = 0.0 if f <= 0 else f - np.floor(f)
            m[d, min(s, n_in - 1)] += 1.0 - f
            m[d, min(s + 1, n_in - 1)] += f
    return m


def area_matrix(n_in: int, n_out: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(n_out, n_in) ``INTER_AREA`` weights along one axis as a tensor (see ``_area_weights``)."""
    return torch.as_tensor(_area_weights(n_in, n_out), dtype=dtype, device=device)


def resize(x: torch.Tensor, height: int, width: int, mode: str = "auto") -> torch.Tensor:
    """``cv2.resize`` of (..., H, W): ``area`` (exact box weights, two matrix products), ``linear``,
    ``cubic`` or ``nearest``; ``auto`` is ``area`` when shrinking, ``linear`` otherwise."""
    size = (max(1, height), max(1, width))
    if tuple(x.shape[-2:]) == size:
        return x
    if mode == "auto":
        mode = "area" if size[0] < x.shape[-2] else "linear"
    if mode == "area":
        my = area_matrix(int(x.shape[-2]), size[0], x.device, x.dtype)
        mx = area_matrix(int(x.shape[-1]), size[1], x.device, x.dtype)
        return torch.matmul(torch.matmul(my, x), mx.T)
    if mode == "nearest":
        return F.interpolate(x, size=size, mode="nearest")
    if mode not in ("linear", "cubic"):
        raise ValueError(f"unknown interpolation {mode!r}; expected one of {INTERPOLATIONS}")
    torch_mode = "bilinear" if mode == "linear" else "bicubic"
    return F.interpolate(x, size=size, mode=torch_mode, align_corners=False)


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


def grid(h: int, w: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel coordinates, broadcastable: xs (1, 1, w) and ys (1, h, 1), float32."""
    xs = torch.arange(w, dtype=torch.float32, device=device).view(1, 1, w)
    ys = torch.arange(h, dtype=torch.float32, device=device).view(1, h, 1)
    return xs, ys


def remap(
    x: torch.Tensor, map_x: torch.Tensor, map_y: torch.Tensor, border: str = "reflect", fill: float = 0.0
) -> torch.Tensor:
    """``cv2.remap`` with INTER_LINEAR: out[b, :, y, x] = x[b, :, map_y, map_x] (maps broadcast to
    (B, H, W), in px).

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
    g = torch.stack([gx, gy], dim=-1).to(x.dtype).expand(x.shape[0], -1, -1, -1)
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
