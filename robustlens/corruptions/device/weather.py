"""Device kernels of the weather family, part 1: fog, snow, frost, spatter and rain (issue 14).

Each kernel reproduces its numpy primitive (``primitives/weather.py``; ImageNet-C weather after
Hendrycks & Dietterich, ICLR 2019). The random layers on the 224 px reference grid (flake and
drop seeds, value-noise fields, frost crystals) are drawn on the host from the image's own
generator, with the numpy primitive's own helpers and in its order, so the device path sees the
same flakes, drops and fog banks. Only the draws (and the frost crystals, drawn with OpenCV's
polylines) stay on the host; the blurs, quantile thresholds, streaks and blends run batched on
the device.
"""

from __future__ import annotations

import numpy as np
import torch

from robustlens.corruptions.base import REFERENCE_SIDE, Primitive
from robustlens.corruptions.device import Batch, device_kernel
from robustlens.corruptions.device._filters import filter2d, gaussian
from robustlens.corruptions.device._layers import colour, gray, host, mix, px, quantile_k, ref_shape, u8
from robustlens.corruptions.device._resample import resize
from robustlens.corruptions.ops import line_kernel
from robustlens.corruptions.primitives.weather import (
    _SHINE,
    Fog,
    Frost,
    Rain,
    Snow,
    Spatter,
    _dendrites,
    _fractal,
)


def soft_blur(x: torch.Tensor, sigma_ref: float) -> torch.Tensor:
    """``weather._soft_blur`` of a uint8-valued batch (sigma in reference px; result rounded)."""
    h, w = x.shape[-2:]
    rh, rw = ref_shape(h, w)
    f = 2 if sigma_ref >= 2.0 else 1
    gh, gw = max(1, rh // f), max(1, rw // f)
    if h <= 1.5 * gh:
        return u8(gaussian(x, sigma_ref * h / rh))
    return u8(resize(u8(gaussian(u8(resize(x, gh, gw)), sigma_ref * gh / rh)), h, w))


def _fraction(u: torch.Tensor) -> torch.Tensor:
    scaled = u * 7919.0
    return scaled - torch.floor(scaled)


def _line_kernels(length: float, angles: list[float], device: torch.device, peak: bool) -> torch.Tensor:
    """Per-image motion-streak kernels (B, k, k); ``peak`` normalises to a peak of 1 (``_streaks``)."""
    ks = [line_kernel(length, a) for a in angles]
    return torch.from_numpy(np.stack([k / k.max() if peak else k for k in ks])).to(device)


@device_kernel("fog")
def _fog(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, Fog)
    h, w = batch.images.shape[-2:]
    shape = ref_shape(h, w)
    fields = [_fractal(shape, prim.feature, r, octaves=5, roughness=prim.roughness) for r in batch.rngs]
    field = host(fields, batch.device)
    alpha = (prim.density * (1.0 + prim.patchiness * 1.6 * field)).clamp(0.0, 1.0)
    fog = u8(colour(prim.color, batch.device) * (1.0 + 0.25 * field))
    return mix(batch.images, u8(resize(fog, h, w)), resize(alpha, h, w))


@device_kernel("snow")
def _snow(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, Snow)
    h, w = batch.images.shape[-2:]
    shape = ref_shape(h, w)
    planes, angles = [], []
    for r in batch.rngs:  # the primitive's draws, in its order
        planes.append(r.random(shape, dtype=np.float32))
        angles.append(90.0 + float(r.uniform(-prim.wind, prim.wind)))
    u = host(planes, batch.device)
    hit = u < float(np.float32(prim.density))  # the CPU's float32 threshold
    fine = _fraction(u)
    big = hit & (fine < 0.25)
    s1, s2 = prim.flake_size, 2.0 * prim.flake_size
    small = (0.5 + 0.5 * fine) * (hit & ~big)
    large = (0.7 + 1.2 * fine) * big
    layer = gaussian(small, s1) * float(2 * np.pi * s1 * s1) + gaussian(large, s2) * float(
        2 * np.pi * s2 * s2
    )
    if prim.motion >= 1.5:
        gain = max(1.0, prim.motion / (2.5 * s1)) ** 0.6
        layer = filter2d(layer, _line_kernels(prim.motion, angles, batch.device, False) * gain, "constant")
    layer = resize(layer, h, w).clamp(max=1.0)
    x = batch.images
    lit = torch.maximum(x, gray(x) * 1.5 + 0.5)
    return mix(x, lit, prim.brighten) + layer


def _frost_draws(prim: Frost, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """``Frost.apply``'s random layers, drawn in its order: crystals, ice grain, thickness noise."""
    rh, rw = shape
    count = round(prim.crystals * rh * rw / REFERENCE_SIDE**2)
    crystals = _dendrites((rh, rw), count, prim.crystal_length, rng)  # OpenCV polylines: host-only
    grain = rng.random((rh, rw), dtype=np.float32)
    return np.stack([crystals, grain, _fractal((rh, rw), 90.0, rng, octaves=3)], axis=-1)


@device_kernel("frost")
def _frost(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, Frost)
    h, w = batch.images.shape[-2:]
    rh, rw = ref_shape(h, w)
    crystals, grain, noise = host([_frost_draws(prim, (rh, rw), r) for r in batch.rngs], batch.device).split(
        1, 1
    )
    texture = (gaussian(crystals, 0.5) * 1.8 + gaussian(grain, 0.8) * 0.7 - 0.05).clamp(0.0, 1.0)
    yy = torch.linspace(-1.0, 1.0, rh, device=batch.device).abs().view(-1, 1)
    xx = torch.linspace(-1.0, 1.0, rw, device=batch.device).abs().view(1, -1)
    thick = torch.maximum(yy, xx).square() * 0.5 + noise * 0.5
    thr = quantile_k(thick, 1.0 - prim.coverage).view(-1, 1, 1, 1)
    cover = (thick * 10.0 + (0.3 - 10.0 * thr)).clamp(0.0, 1.0)
    alpha = resize(cover * (texture * 0.7 + 0.3) * prim.opacity, h, w)
    x = batch.images
    dimmed = u8(x * prim.dim) if prim.dim < 1.0 else x
    x = u8(mix(dimmed, soft_blur(dimmed, 1.5), (1.5 * alpha).clamp(max=1.0)))
    return mix(x, u8(colour(prim.tint, batch.device)), alpha)


def _spatter_draws(shape: tuple[int, int], drop_size: float, rng: np.random.Generator) -> np.ndarray:
    """``Spatter.apply``'s random layers, drawn in its order: liquid, clustering and mud-kind noise."""
    u = rng.random(shape, dtype=np.float32)
    cluster = _fractal(shape, 40.0, rng, octaves=2)
    return np.stack([u, cluster, _fractal(shape, 3.0 * drop_size + 10.0, rng, octaves=2)], axis=-1)


@device_kernel("spatter")
def _spatter(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, Spatter)
    h, w = batch.images.shape[-2:]
    draws = [_spatter_draws(ref_shape(h, w), prim.drop_size, r) for r in batch.rngs]
    u, cluster, kind = host(draws, batch.device).split(1, 1)
    liquid = gaussian(u, prim.drop_size / 2.0)
    std = liquid.double().std(dim=(1, 2, 3), unbiased=False, keepdim=True).float() + 1e-6
    liquid = liquid + 0.7 * std * cluster  # splashes cluster
    kind = kind + 0.5
    thr = quantile_k(liquid, 1.0 - prim.coverage).view(-1, 1, 1, 1)
    alpha = ((liquid - thr) / (0.25 * std)).clamp(0.0, 1.0)
    is_mud = ((prim.mud - kind) / 0.08 + 0.5).clamp(0.0, 1.0)
    shine_k = torch.from_numpy(_SHINE).expand(batch.size, -1, -1)
    shine = filter2d(alpha, shine_k, "reflect101").clamp(0.0, 1.0) * (1.0 - is_mud)
    out = batch.images
    if prim.mud < 1.0:
        lens = u8(soft_blur(out, 2.5) * 0.85 + 0.12)
        out = u8(mix(out, lens, resize(alpha * (1.0 - is_mud), h, w)))
        out = u8(mix(out, torch.ones_like(out), resize(0.6 * shine, h, w)))
    if prim.mud > 0.0:
        mud = u8((0.85 + 0.3 * kind) * colour(prim.mud_color, batch.device))
        out = mix(out, u8(resize(mud, h, w)), resize(alpha * is_mud * (0.75 + 0.25 * kind), h, w))
    return out


@device_kernel("rain")
def _rain(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, Rain)
    h, w = batch.images.shape[-2:]
    shape = ref_shape(h, w)
    planes, angles = [], []
    for r in batch.rngs:
        planes.append(r.random(shape, dtype=np.float32))
        angles.append(90.0 + float(r.uniform(-prim.slant, prim.slant)))
    u = host(planes, batch.device)
    streaks = (0.6 + 0.4 * _fraction(u)) * (u < float(np.float32(prim.density)))
    if prim.length >= 1.5:
        streaks = filter2d(streaks, _line_kernels(prim.length, angles, batch.device, True), "constant")
    alpha = resize((streaks * prim.opacity).clamp(0.0, 1.0), h, w)
    keep = (1.0 - prim.dimming) * (1.0 - prim.haze)
    veil = 0.65 * (1.0 - prim.dimming) * prim.haze
    x = u8(u8(gaussian(batch.images, px(3.0 * prim.haze, batch.scale))) * keep + veil)
    return mix(x, u8(colour(prim.color, batch.device)), alpha)
