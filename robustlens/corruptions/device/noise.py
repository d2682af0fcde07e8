"""Device kernels of the noise family (ImageNet-C noise set, Hendrycks & Dietterich, ICLR 2019).

Same definitions as ``primitives/noise.py``: additive, photon, salt-and-pepper and multiplicative
noise with the primitives' own parameters, drawn per image from its own seed (one batched draw)
and on the 224 px reference grid exactly where the numpy path draws there (``grain_noise``).
"""

from __future__ import annotations

import torch

from robustlens.corruptions.device import Batch, device_kernel
from robustlens.corruptions.device._layers import grain_noise
from robustlens.corruptions.primitives.noise import (
    _BINS,
    _EXACT_BELOW,
    GaussianNoise,
    ImpulseNoise,
    ShotNoise,
    SpeckleNoise,
    _poisson_table,
)


@device_kernel("gaussian_noise")
def gaussian_noise(prim: GaussianNoise, batch: Batch) -> torch.Tensor:
    """x + N(0, sigma), as the numpy primitive."""
    return batch.images + grain_noise(batch, grain=prim.grain) * prim.sigma


@device_kernel("shot_noise")
def shot_noise(prim: ShotNoise, batch: Batch) -> torch.Tensor:
    """Photon noise with the numpy path's split: Poisson counts below 30 expected photons (drawn by
    inverse CDF from the same table, so the distribution is the primitive's exactly), the
    heteroscedastic Gaussian approximation (variance = mean; Foi et al., IEEE TIP 2008) above."""
    x = batch.images
    s = float(prim.strength)
    if s <= 0:
        return x
    per_pixel = prim.grain == "pixel" or batch.scale <= 1.25
    gauss = x + torch.sqrt(x * s) * grain_noise(batch, grain=prim.grain)
    if not per_pixel:
        return gauss
    table = torch.as_tensor(_poisson_table(s), device=x.device).reshape(-1)
    level = torch.round(x * 255.0).long()
    bins = (batch.uniform(x.shape[1:]) * _BINS).long().clamp_(max=_BINS - 1)
    poisson = table[level * _BINS + bins] * s
    return torch.where(level < _EXACT_BELOW * s * 255.0, poisson, gauss)


@device_kernel("impulse_noise")
def impulse_noise(prim: ImpulseNoise, batch: Batch) -> torch.Tensor:
    """Each sample becomes pepper (0) or salt (1) with probability ``amount / 2`` each."""
    u = grain_noise(batch, kind="uniform", grain=prim.grain)
    half = prim.amount / 2
    out = torch.where(u < half, torch.zeros_like(batch.images), batch.images)
    return torch.where((u >= half) & (u < 2 * half), torch.ones_like(out), out)


@device_kernel("speckle_noise")
def speckle_noise(prim: SpeckleNoise, batch: Batch) -> torch.Tensor:
    """x + x * N(0, sigma)."""
    x = batch.images
    return x + x * grain_noise(batch, grain=prim.grain) * prim.sigma
