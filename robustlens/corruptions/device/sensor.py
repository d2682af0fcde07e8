"""Device kernels of the sensor defects (``primitives/sensor.py``): dead pixels, ISO noise, rolling shutter.

Same definitions and parameters as the numpy primitives; per-site and per-pixel planes are drawn
on the device from each image's own seed (one batched draw), small per-image draws (skew direction, wobble)
from its numpy generator in the CPU order.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from robustlens.corruptions.device import Batch, device_kernel
from robustlens.corruptions.device._layers import grain_noise
from robustlens.corruptions.device._resample import grid, remap, resize
from robustlens.corruptions.primitives.sensor import DeadPixels, ISONoise, RollingShutter


@device_kernel("dead_pixels")
def dead_pixels(prim: DeadPixels, batch: Batch) -> torch.Tensor:
    """Dead, hot and stuck sites with probability ``density``, some spread to a neighbour."""
    x = batch.images
    h, w = int(x.shape[-2]), int(x.shape[-1])
    block = max(1, round(prim.size * batch.scale))
    gh, gw = -(-h // block), -(-w // block)
    u = batch.uniform((4, gh, gw))
    defect = u[:, 0] < prim.density
    grow = defect & (u[:, 1] < prim.cluster_fraction)
    right = grow & (u[:, 2] < 0.5)
    down = grow & ~(u[:, 2] < 0.5)
    kind = u[:, 3]
    spread = defect.clone()
    spread[:, :, 1:] |= right[:, :, :-1]
    spread[:, 1:, :] |= down[:, :-1, :]
    ks = kind.clone()
    ks[:, :, 1:] = torch.where(right[:, :, :-1], kind[:, :, :-1], ks[:, :, 1:])
    ks[:, 1:, :] = torch.where(down[:, :-1, :], kind[:, :-1, :], ks[:, 1:, :])
    if block > 1:
        spread = spread.repeat_interleave(block, 1).repeat_interleave(block, 2)[:, :h, :w]
        ks = ks.repeat_interleave(block, 1).repeat_interleave(block, 2)[:, :h, :w]
    hot_t = float(np.float32(prim.hot_fraction))
    stuck_t = float(np.float32(min(1.0, prim.hot_fraction + prim.stuck_fraction)))
    out = x.clone()
    out = torch.where((spread & (ks < hot_t))[:, None], torch.ones_like(out), out)
    out = torch.where((spread & (ks >= stuck_t))[:, None], torch.zeros_like(out), out)
    stuck = spread & (ks >= hot_t) & (ks < stuck_t)
    channel = ((ks - hot_t) / max(stuck_t - hot_t, 1e-6) * 3).long().clamp(max=2)
    planes = torch.arange(3, device=x.device).reshape(1, 3, 1, 1)
    return torch.where(stuck[:, None] & (channel[:, None] == planes), torch.ones_like(out), out)


_NO_LUMA = torch.eye(3) - 1.0 / 3.0


@device_kernel("iso_noise")
def iso_noise(prim: ISONoise, batch: Batch) -> torch.Tensor:
    """Signal-dependent luminance noise plus zero-mean chroma blotches ``grain`` px wide."""
    x = batch.images
    h, w = int(x.shape[-2]), int(x.shape[-1])
    g = max(1.0, prim.grain * batch.scale)
    ch, cw = max(2, round(h / g)), max(2, round(w / g))
    chroma = torch.einsum("ij,bjhw->bihw", _NO_LUMA.to(x), batch.normal((3, ch, cw)))
    chroma = resize(chroma, h, w, "linear")
    spread = chroma.reshape(chroma.shape[0], -1).std(dim=1, correction=0).reshape(-1, 1, 1, 1)
    noise = chroma * (prim.chroma / (spread + 1e-6)) + grain_noise(batch, channels=None)
    luma = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    return x + noise * (torch.sqrt(luma + prim.floor) * prim.intensity)


@device_kernel("rolling_shutter")
def rolling_shutter(prim: RollingShutter, batch: Batch) -> torch.Tensor:
    """Each row shifted by a linear skew of ``skew`` px top to bottom plus a sinusoidal wobble."""
    x = batch.images
    h, w = int(x.shape[-2]), int(x.shape[-1])
    amp = prim.skew * batch.scale
    t = torch.linspace(-0.5, 0.5, h, device=x.device, dtype=x.dtype)
    shifts = []
    for rng in batch.rngs:  # same order of draws as the numpy primitive
        sign = 1.0 if rng.random() < 0.5 else -1.0
        cycles, phase = rng.uniform(0.5, 2.0), rng.uniform(0.0, 2 * math.pi)
        shifts.append(sign * amp * t + prim.wobble * amp * torch.sin(2 * math.pi * cycles * t + phase))
    xs, ys = grid(h, w, x.device)
    return remap(x, xs + torch.stack(shifts)[:, :, None], ys)
