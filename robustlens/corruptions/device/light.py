"""Device kernels of the global light changes (``primitives/light.py``).

Brightness and saturation are ImageNet-C's HSV edits (Hendrycks & Dietterich, ICLR 2019) written in
RGB: with V = max(r, g, b) and S = (V - min) / V, a channel is ``V * (1 - S * f(hue))``, so scaling
V scales the pixel and changing S moves each channel toward V in proportion, with the hue kept
(OpenCV's float HSV round trip, the numpy path, gives the same values). Exposure and white balance
act in linear light with the primitives' 2.2 power law.
"""

from __future__ import annotations

import numpy as np
import torch

from robustlens.corruptions.device import Batch, device_kernel
from robustlens.corruptions.device._layers import from_linear, to_linear
from robustlens.corruptions.primitives.light import (
    Brightness,
    Contrast,
    Overexposure,
    Saturate,
    Underexposure,
    WhiteBalance,
    planckian_rgb,
)


def _hsv_value(x: torch.Tensor, scale: float, offset: float) -> torch.Tensor:
    v = x.amax(dim=1, keepdim=True)
    v2 = (v * scale + offset).clamp(0.0, 1.0)
    ratio = v2 / v.clamp_min(1e-12)
    return torch.where(v > 0, x * ratio, v2.expand_as(x))


def _hsv_saturation(x: torch.Tensor, scale: float, offset: float) -> torch.Tensor:
    v = x.amax(dim=1, keepdim=True)
    lo = x.amin(dim=1, keepdim=True)
    s = torch.where(v > 0, (v - lo) / v.clamp_min(1e-12), torch.zeros_like(v))
    s2 = (s * scale + offset).clamp(0.0, 1.0)
    coloured = v - (v - x) * (s2 / s.clamp_min(1e-12))
    # a grey pixel has hue 0 (red) in OpenCV: r = V, g = b = V (1 - S')
    grey = torch.cat([v, v * (1 - s2), v * (1 - s2)], dim=1)
    return torch.where(s > 0, coloured, grey)


@device_kernel("brightness")
def brightness(prim: Brightness, batch: Batch) -> torch.Tensor:
    """HSV value + ``shift`` (clipped), hue and saturation kept."""
    return _hsv_value(batch.images, 1.0, prim.shift)


@device_kernel("saturate")
def saturate(prim: Saturate, batch: Batch) -> torch.Tensor:
    """HSV saturation times ``gain`` plus ``offset`` (``over``) or divided by ``gain`` (``under``)."""
    if prim.mode == "under":
        return _hsv_saturation(batch.images, 1.0 / prim.gain, 0.0)
    return _hsv_saturation(batch.images, prim.gain, prim.offset)


@device_kernel("contrast")
def contrast(prim: Contrast, batch: Batch) -> torch.Tensor:
    """Each channel pulled toward its image mean by ``1 - reduction``."""
    x = batch.images
    f = 1.0 - prim.reduction
    mean = x.mean(dim=(2, 3), keepdim=True)
    return f * x + (1.0 - f) * mean


@device_kernel("overexposure")
def overexposure(prim: Overexposure, batch: Batch) -> torch.Tensor:
    """Linear light times ``2 ** stops`` plus flare, clipped at full well."""
    lin = to_linear(batch.images) * float(2.0**prim.stops) + float(prim.flare * prim.stops)
    return from_linear(lin)


@device_kernel("underexposure")
def underexposure(prim: Underexposure, batch: Batch) -> torch.Tensor:
    """Linear light divided by ``2 ** stops``, then the black point ``crush`` in sRGB."""
    y = from_linear(to_linear(batch.images) * float(2.0**-prim.stops))
    return (y - prim.crush) * (1.0 / (1.0 - prim.crush))


@device_kernel("white_balance")
def white_balance(prim: WhiteBalance, batch: Batch) -> torch.Tensor:
    """Per-image channel gains in linear light; cast direction and tint drawn as on CPU (same
    generator, same order of draws)."""
    ref_mired = 1e6 / prim.reference_k
    ref = planckian_rgb(prim.reference_k)
    shifted = planckian_rgb(1e6 / (ref_mired + prim.mired_shift))
    rows = []
    for rng in batch.rngs:
        cast = prim.cast if prim.cast != "random" else ("warm", "cool")[int(rng.integers(0, 2))]
        tint = float(rng.uniform(-1.0, 1.0)) * prim.tint * prim.mired_shift / 100.0
        gains = shifted / ref if cast == "warm" else ref / shifted
        gains = np.maximum(gains, 1e-3) * np.array([1.0, 1.0 + tint, 1.0])
        gains /= gains.max() ** (1.0 - prim.compensation) * gains[1] ** prim.compensation
        rows.append(gains.astype(np.float32))
    x = batch.images
    g = torch.as_tensor(np.stack(rows), device=x.device).reshape(-1, 3, 1, 1)
    return from_linear(to_linear(x) * g)
