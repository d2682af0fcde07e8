"""Device kernels of the satellite family: cloud cover, atmospheric haze, band misalignment (issue 14).

They reproduce ``primitives/satellite.py``. The cloud and haze fields are the primitive's value
noise: its small random grids are drawn on the host from each image's own generator, in the
primitive's order, and upsampled on the device (``_layers.smooth_field``); sun azimuth and band
offsets are drawn the same way. Thresholds, shadows, the Koschmieder blend and the band shifts run
batched on the device.
"""

from __future__ import annotations

import numpy as np
import torch

from robustlens.corruptions.base import Primitive
from robustlens.corruptions.device import Batch, device_kernel
from robustlens.corruptions.device._layers import colour, px, quantile_k, smooth_field
from robustlens.corruptions.device._resample import grid, remap, resize
from robustlens.corruptions.primitives.satellite import (
    _ANGSTROM,
    _FIELD_SIDE,
    BandMisalignment,
    CloudCover,
    Haze,
)


def _coarse_field(batch: Batch, feature: float, octaves: int) -> torch.Tensor:
    """``satellite._coarse_field`` per image: (B, 1, gh, gw) on a grid with short side <= 128."""
    h, w = batch.images.shape[-2:]
    f = min(1.0, _FIELD_SIDE / min(h, w))
    gh, gw = max(2, round(h * f)), max(2, round(w * f))
    return smooth_field(batch.rngs, (gh, gw), feature * min(gh, gw), batch.device, octaves)


@device_kernel("cloud_cover")
def _cloud_cover(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, CloudCover)
    h, w = batch.images.shape[-2:]
    field = _coarse_field(batch, prim.feature, 4)
    thetas = [r.uniform(0.0, 2 * np.pi) for r in batch.rngs]
    if prim.coverage <= 0:
        return batch.images
    gh, gw = field.shape[-2:]
    thr = quantile_k(field, 1.0 - prim.coverage).view(-1, 1, 1, 1)
    density = ((field - thr) / prim.softness).clamp(0.0, 1.0)
    # the shadow is the density map displaced along the sun azimuth (on the coarse grid)
    d = px(prim.shadow_px, batch.scale) * gh / h
    shift = torch.tensor([[d * np.cos(t), d * np.sin(t)] for t in thetas], device=batch.device)
    xs, ys = grid(gh, gw, batch.device)
    map_x = xs - shift[:, 0].view(-1, 1, 1).float()
    map_y = ys - shift[:, 1].view(-1, 1, 1).float()
    shade = remap(density, map_x, map_y, "reflect")
    density, shade = resize(density, h, w, "linear"), resize(shade, h, w, "linear")
    alpha = density * prim.opacity
    cloud = 0.72 + 0.28 * density * density
    x = batch.images * ((1.0 - prim.shadow * shade) * (1.0 - alpha))
    return x + cloud * alpha


@device_kernel("haze")
def _haze(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, Haze)
    h, w = batch.images.shape[-2:]
    field = _coarse_field(batch, 0.6, 2)
    tau = resize(prim.depth * (1.0 + prim.patchiness * (2.0 * field - 1.0)), h, w, "linear")
    t = torch.exp(-tau * colour(_ANGSTROM.tolist(), batch.device))
    airlight = colour([prim.airlight * c for c in (0.9, 0.95, 1.0)], batch.device)
    return (batch.images - airlight) * t + airlight


@device_kernel("band_misalignment")
def _band_misalignment(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, BandMisalignment)
    x = batch.images
    h, w = x.shape[-2:]
    d = px(prim.shift, batch.scale)
    shifts = []
    for r in batch.rngs:
        theta = r.uniform(0.0, 2 * np.pi)
        along = r.uniform(0.6, 1.0, 2) * np.array([1.0, -1.0])
        across = r.uniform(-prim.cross, prim.cross, 2)
        c, s = np.cos(theta), np.sin(theta)
        shifts.append(
            [[d * (a * c - b * s), d * (a * s + b * c)] for a, b in zip(along, across, strict=True)]
        )
    sh = torch.tensor(shifts, dtype=torch.float32, device=x.device)  # (B, band R/B, dx/dy)
    xs, ys = grid(h, w, x.device)
    out = x.clone()
    for i, band in enumerate((0, 2)):
        map_x = xs - sh[:, i, 0].view(-1, 1, 1)
        map_y = ys - sh[:, i, 1].view(-1, 1, 1)
        out[:, band : band + 1] = remap(x[:, band : band + 1], map_x, map_y, "reflect")
    return out
