"""Linear filters of the device kernels with OpenCV's definitions (issue 14): padding, Gaussian
blur, ``cv2.filter2D``.

A device kernel must match its numpy primitive (mean SSIM within 0.02), so the filters follow the
OpenCV conventions the numpy code relies on: ``BORDER_REFLECT`` (``cba|abc|cba``, not torch's
``reflect``), ``BORDER_REFLECT_101``, ``BORDER_REPLICATE`` and ``BORDER_CONSTANT`` padding of any
width, the Gaussian of ``ops.gaussian`` (``cv2.getGaussianKernel``, cut at 3 sigma) and
``cv2.filter2D``'s anchor. One implementation per operation, whatever the device; where the
fastest way differs by size it is chosen by size, never by caller:

* separable filters are two batched matrix products with banded matrices that fold the border in
  (2-15x faster than sums of shifted slices on CPU torch, and plain fp32 GEMMs on a GPU);
* ``filter2d`` sums shifted slices over the non-zero taps of small or sparse kernels (streaks,
  vibration paths; ~5x faster than single-channel ``conv2d`` on CPU) and uses real FFTs of the
  padded planes for large dense ones, as ``ops.fft_filter`` does on CPU. No cuDNN convolution:
  on Ampere and later it runs fp32 in TF32 by default, 10-bit mantissas, a level off on many
  pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch

SHIFTED_MAX_TAPS = 48  # as ops.fft_filter: above this many taps (per image) FFTs are cheaper


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
        return torch.nn.functional.pad(x, (left, right, top, bottom))
    h, w = x.shape[-2], x.shape[-1]
    iy = _border_index(h, top, bottom, border, x.device)
    ix = _border_index(w, left, right, border, x.device)
    return x.index_select(-2, iy).index_select(-1, ix)


def ksize(sigma: float) -> int:
    """``ops.gaussian``'s kernel size: cut at 3 sigma."""
    return int(2 * round(3 * sigma) + 1)


@lru_cache(maxsize=64)
def gaussian_taps(sigma: float) -> tuple[float, ...]:
    """``cv2.getGaussianKernel(ksize(sigma), sigma)`` (float64 weights; sigma > 0)."""
    k = ksize(sigma)
    t = np.arange(k, dtype=np.float64) - (k - 1) / 2.0
    taps = np.exp(-(t * t) / (2.0 * sigma * sigma))
    return tuple((taps / taps.sum()).tolist())


def gaussian(
    x: torch.Tensor, sigma: float, sigma_y: float | None = None, border: str = "reflect"
) -> torch.Tensor:
    """``ops.gaussian`` (``cv2.GaussianBlur``, cut at 3 sigma) of (..., H, W); ``sigma_y`` for an
    anisotropic blur; an axis with sigma <= 0 is left as is (no-op for both)."""
    sy = sigma if sigma_y is None else sigma_y
    if sigma <= 0 and sy <= 0:
        return x
    ty = _taps_tensor(sy, x) if sy > 0 else None
    tx = _taps_tensor(sigma, x) if sigma > 0 else None
    return separable(x, ty, tx, border)


def _taps_tensor(sigma: float, x: torch.Tensor) -> torch.Tensor:
    return torch.tensor(gaussian_taps(float(sigma)), dtype=x.dtype, device=x.device)


def separable(
    x: torch.Tensor, ty: torch.Tensor | None, tx: torch.Tensor | None, border: str = "reflect"
) -> torch.Tensor:
    """Correlate every plane with the centred column taps ``ty`` then row taps ``tx`` (None: skip
    that axis): one batched matrix product per axis with a banded (n, n) matrix, border folded in."""
    if ty is not None:
        x = torch.matmul(_band_matrix(int(x.shape[-2]), ty, border), x)
    if tx is not None:
        x = torch.matmul(x, _band_matrix(int(x.shape[-1]), tx, border).T)
    return x


def _band_matrix(n: int, taps: torch.Tensor, border: str) -> torch.Tensor:
    """(n, n) matrix of a centred 1-D correlation with ``taps`` and the border folded in."""
    k = int(taps.numel())
    r = k // 2
    rows = torch.arange(n, device=taps.device).repeat_interleave(k)
    pos = rows + torch.arange(k, device=taps.device).repeat(n)  # padded position of each tap
    weights = taps.repeat(n)
    m = torch.zeros((n, n), dtype=taps.dtype, device=taps.device)
    if border == "constant":  # taps falling outside the image read zeros
        inside = (pos >= r) & (pos < n + r)
        rows, pos, weights = rows[inside], pos[inside], weights[inside]
        return m.index_put_((rows, pos - r), weights, accumulate=True)
    src = _border_index(n, r, k - 1 - r, border, taps.device)
    return m.index_put_((rows, src[pos]), weights, accumulate=True)


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


def on_accelerator(x: torch.Tensor) -> bool:
    """Whether ``x`` lives on an accelerator (launches are dear: per-image loops are avoided)."""
    return x.device.type != "cpu"


def filter2d(x: torch.Tensor, kernels: torch.Tensor, border: str = "reflect") -> torch.Tensor:
    """``cv2.filter2D`` (a correlation, default anchor ``(kw // 2, kh // 2)``) of (B, C, H, W).

    ``kernels`` is (kh, kw) or (1, kh, kw) for the whole batch, or (B, kh, kw) one per image.
    Kernels with up to ``SHIFTED_MAX_TAPS`` non-zero taps are sums of shifted slices of the padded
    batch, larger ones real FFTs of the padded planes. The choice is made per image from its own
    kernel (on an accelerator from the kernel size, and the slices are summed for the whole batch
    over the taps any image uses, weighted per image), so an image's result never depends on its
    batch neighbours' kernels and the launches do not grow with the batch.
    """
    b, _, h, w = x.shape
    k = kernels.to(device=x.device, dtype=x.dtype).reshape(-1, kernels.shape[-2], kernels.shape[-1])
    kh, kw = int(k.shape[-2]), int(k.shape[-1])
    padded = pad(x, kh // 2, kh - 1 - kh // 2, kw // 2, kw - 1 - kw // 2, border)
    nonzero = k != 0
    if k.shape[0] == 1 or on_accelerator(x):
        small = kh * kw <= SHIFTED_MAX_TAPS if k.shape[0] > 1 else int(nonzero.sum()) <= SHIFTED_MAX_TAPS
        if small:
            return _shifted_batch(padded, k, nonzero.any(dim=0), h, w)
        return _fft(padded, k, h, w)
    taps = nonzero.sum(dim=(1, 2)).tolist()
    return torch.cat(
        [
            _shifted_one(padded[i], k[i], h, w)[None]
            if taps[i] <= SHIFTED_MAX_TAPS
            else _fft(padded[i : i + 1], k[i : i + 1], h, w)
            for i in range(b)
        ]
    )


def _fft(padded: torch.Tensor, k: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Valid correlation by real FFTs: out[y, x] = sum k[i, j] * padded[y + i, x + j] (no wrap
    below h, w), as ``ops.fft_filter``; ``k`` is (1 or B, kh, kw)."""
    ph, pw = padded.shape[-2:]
    spec_k = torch.fft.rfft2(k, s=(ph, pw))[:, None]  # (1 or B, 1, ph, pw // 2 + 1)
    out = torch.fft.irfft2(torch.fft.rfft2(padded) * spec_k.conj(), s=(ph, pw))
    return out[..., :h, :w].contiguous()


def _shifted_one(padded: torch.Tensor, k: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """One image (C, H + kh - 1, W + kw - 1): sum of its slices over its non-zero taps."""
    out = torch.zeros((padded.shape[0], h, w), dtype=padded.dtype, device=padded.device)
    for y, xx in k.nonzero().tolist():
        out.add_(padded[:, y : y + h, xx : xx + w], alpha=float(k[y, xx]))
    return out


def _shifted_batch(padded: torch.Tensor, k: torch.Tensor, taps: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The batch at once over the taps any image uses, each weighted per image (B or 1, 1, 1, 1)."""
    out = torch.zeros((*padded.shape[:2], h, w), dtype=padded.dtype, device=padded.device)
    for y, xx in taps.nonzero().tolist():
        out.addcmul_(padded[..., y : y + h, xx : xx + w], k[:, y, xx].reshape(-1, 1, 1, 1))
    return out
