"""Value helpers and random layers of the device kernels (issue 14).

Why: a device kernel must match its numpy primitive (mean SSIM within 0.02), so these follow the
numpy code's own conventions: the 224 px reference grid and ``Context.px`` lengths, uint8 rounding
between steps (an OpenCV uint8 result), BT.601 luma, the 2.2 power law of ``primitives/light``,
``cv2.LUT``, ``ops.grain_noise`` (drawn on the reference grid where the numpy helper draws there),
``ops.smooth_field`` and NumPy's quantiles. Random layers that the numpy code draws from
``ctx.rng`` are drawn with the same generator (``Batch.rngs``), so the device path sees the same
random geometry as the CPU path; full-resolution planes come from ``Batch.normal``/``uniform``.
Filters live in ``_filters``, resampling in ``_resample``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from robustlens.corruptions.base import REFERENCE_SIDE
from robustlens.corruptions.device._resample import resize

if TYPE_CHECKING:  # the package imports this module for ``u8``
    from robustlens.corruptions.device import Batch

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
    """Round and saturate to the 256 levels of uint8, staying float in [0, 1] (an OpenCV uint8
    result, or a numpy primitive's uint8 intermediate)."""
    return torch.round(x.clamp(0.0, 1.0) * 255.0) / 255.0


def to_linear(x: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] -> linear light (the primitives' 2.2 power law)."""
    from robustlens.corruptions.primitives.light import GAMMA

    return x.clamp(0.0, 1.0) ** GAMMA


def from_linear(lin: torch.Tensor) -> torch.Tensor:
    """Linear light -> sRGB in [0, 1], clipped (``light.from_linear`` with ``light.power``'s floor)."""
    from robustlens.corruptions.primitives.light import GAMMA

    return lin.clamp(1e-30, 1.0) ** (1.0 / GAMMA)


def lookup(table: np.ndarray, x: torch.Tensor) -> torch.Tensor:
    """``cv2.LUT``: a 256-entry table indexed by the uint8 level of ``x`` (float in [0, 1])."""
    t = torch.tensor(np.asarray(table, np.float32).reshape(-1), device=x.device)
    return t[torch.round(x * 255.0).long()]


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
