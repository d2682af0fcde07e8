"""Torch image operations shared by the device kernels (issue 14).

Each mirrors one helper of ``robustlens.corruptions.ops`` or an OpenCV call the numpy primitives
use, on (B, C, H, W) float tensors: the same border rules (OpenCV's ``BORDER_REFLECT`` is
``abc|cba``, not torch's ``reflect``), the same kernels (built by the numpy helpers themselves, so
sizes and sigmas cannot drift) and OpenCV's resampling grids. Large correlations go through real
FFTs, as ``ops.fft_filter`` does on CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from robustlens.corruptions.device import Batch

Border = Literal["reflect", "replicate"]
_FFT_MIN_TAPS = 48  # as ops.fft_filter: below this many taps direct correlation is cheaper


def _border_index(n: int, before: int, after: int, border: str, device: torch.device) -> torch.Tensor:
    """Source indices of positions ``-before .. n + after - 1`` under an OpenCV border mode:
    ``reflect`` (``cba|abc|cba``), ``reflect101`` (``dcb|abcd|cba``) or ``replicate``."""
    i = torch.arange(-before, n + after, device=device)
    if border == "replicate" or n == 1:
        return i.clamp(0, n - 1)
    if border == "reflect101":
        period = 2 * n - 2
        j = torch.remainder(i, period)
        return torch.where(j >= n, period - j, j)
    j = torch.remainder(i, 2 * n)
    return torch.where(j >= n, 2 * n - 1 - j, j)


def pad(
    x: torch.Tensor, top: int, bottom: int, left: int, right: int, border: str = "reflect"
) -> torch.Tensor:
    """Pad the last two axes like ``cv2.copyMakeBorder`` (any pad width, also wider than the image;
    ``constant`` pads zeros)."""
    if border == "constant":
        return F.pad(x, (left, right, top, bottom))
    h, w = x.shape[-2], x.shape[-1]
    iy = _border_index(h, top, bottom, border, x.device)
    ix = _border_index(w, left, right, border, x.device)
    return x.index_select(-2, iy).index_select(-1, ix)


def gaussian_taps(sigma: float) -> np.ndarray:
    """The 1-D Gaussian of ``ops.gaussian``: size ``2 * round(3 sigma) + 1`` (float64 weights)."""
    k = int(2 * round(3 * sigma) + 1)
    t = np.arange(k, dtype=np.float64) - (k - 1) / 2.0
    taps = np.exp(-(t * t) / (2.0 * sigma * sigma))
    return taps / taps.sum()


def gaussian_blur(x: torch.Tensor, sigma: float, border: Border = "reflect") -> torch.Tensor:
    """``ops.gaussian`` on a batch: separable Gaussian, kernel cut at 3 sigma, reflected border."""
    if sigma <= 0:
        return x
    taps = torch.as_tensor(gaussian_taps(float(sigma)), dtype=x.dtype, device=x.device)
    return separable(x, taps, taps, border)


def separable(
    x: torch.Tensor, ty: torch.Tensor, tx: torch.Tensor, border: Border = "reflect"
) -> torch.Tensor:
    """Correlate every plane with the column taps ``ty`` then the row taps ``tx`` (centred).

    Each pass is one matrix product with a banded (n, n) matrix that folds the border in, so the
    batch goes through two batched matmuls (fast on GPUs and ~10x faster than ``conv2d`` with
    one input channel on CPU).
    """
    my = _band_matrix(int(x.shape[-2]), ty, border)
    mx = _band_matrix(int(x.shape[-1]), tx, border)
    return torch.matmul(torch.matmul(my, x), mx.T)


def _band_matrix(n: int, taps: torch.Tensor, border: Border) -> torch.Tensor:
    """(n, n) matrix of a centred 1-D correlation with ``taps`` and the border folded in."""
    k = int(taps.numel())
    r = k // 2
    src = _border_index(n, r, k - 1 - r, border, taps.device)  # padded position -> source index
    rows = torch.arange(n, device=taps.device).repeat_interleave(k)
    cols = src[rows + torch.arange(k, device=taps.device).repeat(n)]
    m = torch.zeros((n, n), dtype=taps.dtype, device=taps.device)
    return m.index_put_((rows, cols), taps.repeat(n), accumulate=True)


def centre_kernels(
    kernels: Sequence[np.ndarray],
    anchors: Sequence[tuple[int, int] | None],
    device: torch.device,
    radius: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Stack 2-D kernels of any sizes, each with its ``cv2.filter2D`` anchor (x, y) (None: the
    centre), into one (N, 2 ry + 1, 2 rx + 1) float32 tensor whose centre is every anchor.

    ``radius`` (ry, rx) fixes the size; give it for per-image kernels so the padding (and thus
    the float rounding of the FFT) does not depend on the batch neighbours' kernels.
    """
    centres = [a if a else (k.shape[1] // 2, k.shape[0] // 2) for k, a in zip(kernels, anchors, strict=True)]
    if radius is None:
        ry = max(max(ay, k.shape[0] - 1 - ay) for k, (_, ay) in zip(kernels, centres, strict=True))
        rx = max(max(ax, k.shape[1] - 1 - ax) for k, (ax, _) in zip(kernels, centres, strict=True))
    else:
        ry, rx = radius
    out = np.zeros((len(kernels), 2 * ry + 1, 2 * rx + 1), np.float32)
    for i, (k, (ax, ay)) in enumerate(zip(kernels, centres, strict=True)):
        out[i, ry - ay : ry - ay + k.shape[0], rx - ax : rx - ax + k.shape[1]] = k
    return torch.as_tensor(out, device=device)


def correlate(x: torch.Tensor, kernel: torch.Tensor, border: Border = "reflect") -> torch.Tensor:
    """``cv2.filter2D`` (a correlation) of every image with a centred, odd-sized kernel.

    ``kernel`` is (kh, kw) or (1, kh, kw) for the whole batch, or (B, kh, kw) one per image (see
    ``centre_kernels``). Large kernels are applied by real FFTs of the border-padded planes, as
    ``ops.fft_filter`` does, small ones by ``conv2d``.
    """
    b, c, h, w = x.shape
    k = kernel.to(x.dtype).reshape(-1, kernel.shape[-2], kernel.shape[-1])
    per_image = k.shape[0] > 1
    ry, rx = k.shape[-2] // 2, k.shape[-1] // 2
    padded = pad(x, ry, ry, rx, rx, border)
    ph, pw = padded.shape[-2:]
    if k.shape[-2] * k.shape[-1] < _FFT_MIN_TAPS:
        if per_image:
            weight = k.repeat_interleave(c, 0).unsqueeze(1)
            return F.conv2d(padded.reshape(1, b * c, ph, pw), weight, groups=b * c).reshape(b, c, h, w)
        return F.conv2d(padded, k.expand(c, -1, -1).unsqueeze(1).contiguous(), groups=c)
    # valid correlation by FFT: out[y, x] = sum k[i, j] * padded[y + i, x + j] (no wrap below h, w)
    spec_k = torch.fft.rfft2(k, s=(ph, pw))[:, None]  # (1 or B, 1, ph, pw // 2 + 1)
    out = torch.fft.irfft2(torch.fft.rfft2(padded) * spec_k.conj(), s=(ph, pw))
    return out[..., :h, :w].contiguous()


def area_matrix(n_in: int, n_out: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
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
    return torch.as_tensor(m, dtype=dtype, device=device)


def resize_area(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``cv2.resize(..., INTER_AREA)`` of a batch, as two small matrix products."""
    my = area_matrix(int(x.shape[-2]), max(1, height), x.device, x.dtype)
    mx = area_matrix(int(x.shape[-1]), max(1, width), x.device, x.dtype)
    return torch.matmul(torch.matmul(my, x), mx.T)


def resize(x: torch.Tensor, height: int, width: int, mode: str = "bilinear") -> torch.Tensor:
    """``cv2.resize`` with ``INTER_LINEAR`` / ``INTER_CUBIC`` / ``INTER_NEAREST`` / ``INTER_AREA``
    (half-pixel centres and replicated borders, as OpenCV; cubic with a = -0.75, as OpenCV)."""
    size = (max(1, height), max(1, width))
    if mode == "area":
        return resize_area(x, *size)
    if mode == "nearest":
        return F.interpolate(x, size=size, mode="nearest")
    return F.interpolate(x, size=size, mode=mode, align_corners=False)


def quantise(x: torch.Tensor) -> torch.Tensor:
    """Round to uint8 levels (as a numpy primitive's uint8 intermediate), kept as float in [0, 1]."""
    return torch.round(x.clamp(0.0, 1.0) * 255.0) / 255.0


def grain_noise(
    batch: Batch, channels: int | None = 3, kind: str = "normal", grain: str = "reference"
) -> torch.Tensor:
    """``ops.grain_noise`` on a batch: (B, C, H, W) (or (B, 1, H, W) when ``channels`` is None).

    ``grain='reference'`` draws on the 224 px reference grid and enlarges it by nearest neighbour
    on images more than 1.25x larger, exactly where the numpy helper does.
    """
    h, w = int(batch.images.shape[-2]), int(batch.images.shape[-1])
    c = channels or 1
    if grain == "reference" and batch.scale > 1.25:
        shape = (c, max(1, round(h / batch.scale)), max(1, round(w / batch.scale)))
    else:
        shape = (c, h, w)
    noise = batch.normal(shape) if kind == "normal" else batch.uniform(shape)
    if shape[1:] != (h, w):
        noise = F.interpolate(noise, size=(h, w), mode="nearest")
    return noise


def to_linear(x: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] -> linear light (the primitives' 2.2 power law)."""
    from robustlens.corruptions.primitives.light import GAMMA

    return x.clamp(0.0, 1.0) ** GAMMA


def from_linear(lin: torch.Tensor) -> torch.Tensor:
    """Linear light -> sRGB in [0, 1], clipped (``light.from_linear`` with ``light.power``'s floor)."""
    from robustlens.corruptions.primitives.light import GAMMA

    return lin.clamp(1e-30, 1.0) ** (1.0 / GAMMA)


def per_image(values: Sequence[float], x: torch.Tensor) -> torch.Tensor:
    """A (B, 1, 1, 1) tensor of per-image scalars on ``x``'s device, for broadcasting."""
    return torch.as_tensor(list(values), dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)


def remap(x: torch.Tensor, map_x: torch.Tensor, map_y: torch.Tensor) -> torch.Tensor:
    """``cv2.remap`` (bilinear, ``BORDER_REFLECT``) with per-image maps (B, H, W) in pixels.

    ``grid_sample``'s reflection about the outer pixel edges is OpenCV's ``abc|cba`` border.
    """
    h, w = int(x.shape[-2]), int(x.shape[-1])
    grid = torch.stack([(2.0 * map_x + 1.0) / w - 1.0, (2.0 * map_y + 1.0) / h - 1.0], dim=-1)
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="reflection", align_corners=False)


def pixel_grid(h: int, w: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(H, W) row and column indices as float tensors on ``x``'s device."""
    gy, gx = torch.meshgrid(
        torch.arange(h, device=x.device, dtype=x.dtype),
        torch.arange(w, device=x.device, dtype=x.dtype),
        indexing="ij",
    )
    return gy, gx


def lookup(table: np.ndarray, x: torch.Tensor) -> torch.Tensor:
    """``cv2.LUT``: a 256-entry table indexed by the uint8 level of ``x`` (float in [0, 1])."""
    t = torch.tensor(np.asarray(table, np.float32).reshape(-1), device=x.device)
    return t[torch.round(x * 255.0).long()]
