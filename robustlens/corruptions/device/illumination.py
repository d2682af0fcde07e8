"""Device kernels of the spatially varying light changes (``primitives/illumination.py``).

Night capture, vignetting and glare in linear light (2.2 power law), with the numpy primitives'
lookup tables and per-image draws (glare position, colour and streak phase come from each
image's own numpy generator in the same order as on CPU).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from robustlens.corruptions.device import Batch, device_kernel
from robustlens.corruptions.device._layers import from_linear, grain_noise, lookup, to_linear
from robustlens.corruptions.device._resample import grid
from robustlens.corruptions.primitives.illumination import (
    _LINEAR,
    GAMMA,
    Glare,
    LowLight,
    Vignetting,
    _veiled_linear,
)


@device_kernel("low_light")
def low_light(prim: LowLight, batch: Batch) -> torch.Tensor:
    """Darkened signal with shot and read noise (Gaussian approximation), camera gain and a deeper
    shadow gamma, from the primitive's per-level mean and noise tables."""
    electrons = _LINEAR[0] * (prim.light * prim.full_well)
    gain = prim.light ** (1.0 - prim.gain_compensation) / (prim.light * prim.full_well)
    x = batch.images
    mean = lookup(electrons * gain, x)
    std = lookup(np.sqrt(electrons + prim.read_noise**2) * gain, x)
    noisy = grain_noise(batch) * std + mean
    exponent = (1.0 + prim.shadow_gamma * (1.0 - prim.light)) / GAMMA
    return noisy.clamp(1e-30, 1.0) ** exponent


@device_kernel("vignetting")
def vignetting(prim: Vignetting, batch: Batch) -> torch.Tensor:
    """cos^4-law falloff ``1 / (1 + k r^2)^2`` with r in half-diagonals, in linear light."""
    x = batch.images
    h, w = int(x.shape[-2]), int(x.shape[-1])
    gx, gy = grid(h, w, x.device)
    r = torch.sqrt((gy - (h - 1) / 2) ** 2 + (gx - (w - 1) / 2) ** 2) * (2.0 / math.hypot(h, w))
    k = (1.0 - prim.strength) ** -0.5 - 1.0
    falloff = 1.0 / (1.0 + k * r * r) ** 2
    return from_linear(to_linear(x) * falloff)


@device_kernel("glare")
def glare(prim: Glare, batch: Batch) -> torch.Tensor:
    """Gaussian bloom core plus a streaked heavy tail around a random source, and a uniform veil."""
    x = batch.images
    h, w = int(x.shape[-2]), int(x.shape[-1])
    draws = []
    for rng in batch.rngs:  # same order of draws as the numpy primitive
        sx, sy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.7) * h
        colour = [1.0, rng.uniform(0.88, 1.0), rng.uniform(0.7, 0.95)]
        draws.append([sx, sy, rng.uniform(0, 2 * np.pi), *colour])
    p = torch.as_tensor(np.array(draws, np.float32), device=x.device)
    cx, cy, phase = p[:, 0, None, None], p[:, 1, None, None], p[:, 2, None, None]
    gx, gy = grid(h, w, x.device)
    dy, dx = gy - cy, gx - cx  # (B, H, W)
    r0 = max(1.0, prim.radius * batch.scale)
    d2 = (dy * dy + dx * dx) / (r0 * r0)
    tail = 0.6 / (1.0 + 0.25 * d2)
    if prim.streaks:
        streak = torch.cos(prim.streaks / 2 * torch.atan2(dy, dx) + phase) ** 16
        tail = tail * (0.6 + 1.2 * streak)
    bloom = (torch.exp(-d2) + tail) * prim.strength
    veil = min(0.95, prim.veil * prim.strength)
    lin = lookup(_veiled_linear(round(veil, 6)), x) + bloom[:, None] * p[:, 3:6, None, None]
    return from_linear(lin)
